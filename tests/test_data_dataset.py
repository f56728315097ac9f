"""The Dataset: copies between strains found."""

from __future__ import annotations

import pandas as pd
import pytest

from nodebio import data


def test_identical_series_are_found(limonene_path):
    both = data.load("limonene", states=["GPP", "Mevalonate"], data_dir=limonene_path.parent)
    copies = data.identical_series(both)
    assert copies[["variable", "strain_a", "strain_b"]].values.tolist() == [["GPP", "L1", "L2"]]
    assert "warning:  GPP is identical in L1 and L2" in repr(both)
    assert data.identical_series(data.load("limonene", data_dir=limonene_path.parent)).empty


def test_identical_series_on_common_times_only():
    frame = pd.DataFrame({
        "Strain": ["A"] * 4 + ["B"] * 4 + ["C"] * 4,
        "Hour": [0, 1, 2, 3, 0, 1, 2, 5, 0, 1, 2, 3],
        "E": [1.0] * 12,
        "x": [1, 2, 3, 4, 1, 2, 3, 9, 1, 2, 3, 5],   # A and B agree on 0, 1, 2 (3 common times)
        "z": [0.0] * 12,                              # all zero: not reported
    })
    dataset = data.from_frame(frame, states=["x", "z"], controls=["E"])
    found = data.identical_series(dataset)
    pairs = {(r.variable, r.strain_a, r.strain_b, r.points) for r in found.itertuples()}
    assert ("x", "A", "B", 3) in pairs and ("x", "B", "C", 3) in pairs
    assert not any(p[0] == "x" and p[1:3] == ("A", "C") for p in pairs)  # they differ at 3 h
    assert ("E", "A", "B", 3) in pairs and not any(p[0] == "z" for p in pairs)


def test_the_mask_of_measured_values_is_named_mask_and_its_former_name_warns(limonene):
    assert limonene.mask.dtypes.eq(bool).all() and list(limonene.mask.columns) == list(limonene.variables)
    with pytest.warns(DeprecationWarning, match="Dataset.measured is now Dataset.mask"):
        former = limonene.measured
    assert former is limonene.mask
