"""The Dataset: copies between strains found."""

from __future__ import annotations

from nodebio import data


def test_identical_series_are_found(limonene_path):
    both = data.load("limonene", states=["GPP", "Mevalonate"], data_dir=limonene_path.parent)
    copies = data.identical_series(both)
    assert copies[["variable", "strain_a", "strain_b"]].values.tolist() == [["GPP", "L1", "L2"]]
    assert "warning:  GPP is identical in L1 and L2" in repr(both)
    assert data.identical_series(data.load("limonene", data_dir=limonene_path.parent)).empty
