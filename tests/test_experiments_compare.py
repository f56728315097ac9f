"""The paper's comparison and leave-one-strain-out."""

from __future__ import annotations

import json

import pytest

from nodebio import data
from nodebio.experiments import compare


def test_reproduce_quick_writes_the_tables(tmp_path, limonene_path):
    output = compare.reproduce(["limonene"], seeds=1, quick=True, loso=False, out=tmp_path / "res",
                               device="cpu", progress=False, data_dir=limonene_path.parent)
    files = {p.name for p in (tmp_path / "res").iterdir()}
    assert {"results.csv", "summary.csv", "improvement.csv", "results.json", "results.md"} <= files
    summary = output["summary"]
    assert set(summary["model"]) == {"node", "node-structured", "baseline-gb", "baseline-rf", "mean"}
    assert len(summary) == 7  # two neural ODEs, 2 x 2 baselines, mean
    improvement = output["improvement"]
    assert (improvement["paper_%"] == 94.38).all() and len(improvement) == 10  # 2 variants x 5 references
    assert set(improvement["model"]) == {"node", "node-structured"}
    markdown = (tmp_path / "res" / "results.md").read_text()
    assert "94.4" in markdown and "baseline-rf" in markdown
    document = json.loads((tmp_path / "res" / "results.json").read_text())
    assert document["settings"]["seeds"] == 1
    with pytest.raises(data.DataValidationError, match="Unknown pathway"):
        compare.reproduce(["limonen"], quick=True, out=None)


def test_leave_one_strain_out_quick(isopentenol_path):
    table = compare.leave_one_strain_out(["isopentenol"], quick=True, device="cpu", progress=False,
                                         data_dir=isopentenol_path.parent)
    assert set(table["held_out"]) == {"I1", "I2", "I3"}
    assert set(table["model"]) == {"node", "node-structured", "baseline-gb", "mean"}
    summary = compare.loso_summary(table)
    assert len(summary) == 3 and summary["node beats mean"].dtype == bool
    assert summary["node-structured beats mean"].dtype == bool
