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
    assert {"results.csv", "summary.csv", "improvement.csv", "predictions.csv", "per_metabolite.csv",
            "strongest.csv", "tuning.csv", "results.json", "results.md"} <= files
    summary = output["summary"]
    assert set(summary["model"]) == {"node", "node-structured", "node-kinetic", "baseline-gb", "baseline-rf", "mean",
                                     "persistence", "nearest", "zero", "costello-kinetic", "tpot"}
    # 3 neural ODEs, 2 baselines x 4 configurations, 2 kinetic fits, 4 references, TPOT from its artifact
    assert len(summary) == 3 + 2 * 4 + 2 + 4 + 1
    assert summary.loc[summary["model"] == "tpot", "seeds"].iloc[0] == 3
    assert {"titer_error_mean", "rmse_integral_mean", "rmse_scaled_mean"} <= set(summary.columns)
    improvement = output["improvement"]
    assert (improvement["paper_%"] == 94.38).all() and len(improvement) == 3 * 15  # 3 variants x 15 references
    assert set(improvement["model"]) == {"node", "node-structured", "node-kinetic"}
    inside = improvement.dropna(subset=["integral_low"])
    assert ((inside["integral_low"] <= inside["improvement_integral_%"] + 1e-9)
            & (inside["improvement_integral_%"] <= inside["integral_high"] + 1e-9)).mean() > 0.8
    assert set(output["strongest"]["metric"]) == {"rmse_integral", "rmse_scaled", "titer_error"}
    assert set(output["tuning"]["model"]) == {"baseline-gb", "baseline-rf"}
    markdown = (tmp_path / "res" / "results.md").read_text()
    assert "94.4" in markdown and "baseline-rf" in markdown and "## Verdict" in markdown
    assert output["verdict"]["limonene"].startswith("In this quick run, on limonene (held-out strain L2), the paper's")
    assert "conditional on that strain" in output["verdict"]["limonene"]
    assert "TPOT, 30-s search" in set(output["improvement"]["reference"])  # the bounded search, named as such
    assert {"titer_low", "titer_high"} <= set(output["improvement"].columns)
    claimed = output["claims"]
    assert claimed["claim"].str.contains("more than 90% lower RMSE").any()
    assert claimed["claim"].str.contains("back-computed").any() and claimed["paper"].str.contains("8.66").any()
    assert all(v.startswith(("In this quick run", "not ")) for v in claimed["verdict"])  # quick, or not tested
    assert "persistence" in set(output["per_metabolite"]["model"])
    document = json.loads((tmp_path / "res" / "results.json").read_text())
    assert document["settings"]["seeds"] == 1
    with pytest.raises(data.DataValidationError, match="Unknown pathway"):
        compare.reproduce(["limonen"], quick=True, out=None)


def test_leave_one_strain_out_quick(isopentenol_path):
    table = compare.leave_one_strain_out(["isopentenol"], quick=True, seeds=2, device="cpu", progress=False,
                                         data_dir=isopentenol_path.parent)
    assert set(table["held_out"]) == {"I1", "I2", "I3"}
    assert set(table["model"]) == {"node", "node-structured", "node-kinetic", "baseline-gb", "mean", "persistence",
                                   "nearest", "zero"}
    assert set(table.loc[table["model"] == "node", "seed"]) == {0, 1}
    assert set(table.loc[table["model"] == "zero", "seed"]) == {0}
    summary = compare.loso_summary(table).set_index("held_out")
    assert len(summary) == 3
    per_seed = table.groupby(["held_out", "model", "seed"])["rmse_scaled"].mean()
    references = ["mean", "persistence", "nearest", "zero"]
    for held_out, row in summary.iterrows():
        means = per_seed[held_out].groupby("model").mean()
        assert row["best reference"] == means[references].idxmin()
        assert row["node"] == pytest.approx(means["node"])
        for variant in ("node", "node-structured", "node-kinetic"):
            # "beats" only when the rule says lower; a word for every comparison
            assert row[f"{variant} beats mean"] == (row[f"{variant} vs mean"] == "lower")
            assert row[f"{variant} vs mean"] in {"lower", "higher", "indistinguishable"}
            if row[f"{variant} vs mean"] == "lower":
                assert means[variant] < means["mean"]


def test_published_features_simulate_their_states_and_are_scored_on_ours(isopentenol_path):
    prepared = data.prepare(data.load("isopentenol", data_dir=isopentenol_path.parent))
    assert "Mev-P" not in prepared.train.states
    model, _, score, _ = compare.fit_and_score("baseline-gb", "published-features", 0, prepared, quick=True,
                                               device="cpu")
    assert "Mev-P" in model.own.train.states  # simulated, as their lists do
    assert list(score["rmse_integral"]) == list(prepared.test.states) and score["status"] == ["ok"]
    with pytest.raises(ValueError, match="held-out strains of its own data only"):
        model.simulate(prepared.train)


def _output(loso: bool, seed: int = 0) -> dict:
    """The smallest output of :func:`compare.reproduce` that :func:`compare.write_results` writes."""
    import pandas as pd

    tables = {name: pd.DataFrame({"model": ["node"], "value": [float(seed)]})
              for name in ("results", "predictions", "trajectories", "summary", "improvement", "per_metabolite",
                           "strongest", "assessment", "tuning")}
    table = pd.DataFrame({"pathway": ["limonene"] * 2, "held_out": ["L2"] * 2, "model": ["mean", "node"], "seed": [0, 0],
                          "rmse_scaled": [1.0, 0.5]})
    return {**tables, "settings": {"seed": seed, "tpot_artifact": {"limonene": "not included"}}, "seconds": 1.0,
            "verdict": {"limonene": "verdict"}, "hypothesis": {"limonene": "hypothesis"},
            "loso": table if loso else None}


def test_results_are_written_whole_and_replaced_only_when_asked(tmp_path):
    from nodebio.errors import RunExistsError

    out = tmp_path / "rep"
    written = compare.write_results(_output(loso=True), out)
    manifest = json.loads((out / compare.MANIFEST).read_text())
    assert sorted(manifest["files"]) == sorted(written[:-1]) and "loso.csv" in manifest["files"]
    assert sorted(p.name for p in out.iterdir()) == sorted(written)
    with pytest.raises(RunExistsError, match="already holds results .* --overwrite"):
        compare.write_results(_output(loso=False, seed=7), out)
    compare.write_results(_output(loso=False, seed=7), out, overwrite=True)
    names = sorted(p.name for p in out.iterdir())
    assert "loso.csv" not in names  # no file of the earlier results is left beside the new ones
    assert names == sorted([*json.loads((out / compare.MANIFEST).read_text())["files"], compare.MANIFEST])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep"]  # no staging folder or lock left


def test_results_never_replace_a_folder_of_other_files(tmp_path, limonene_path):
    from nodebio.errors import RunExistsError

    out = tmp_path / "mine"
    out.mkdir()
    (out / "results.csv").write_text("my own results")
    (out / "summary.csv").write_text("my own summary")
    with pytest.raises(RunExistsError, match="holds files but no manifest.json"):
        compare.reproduce(["limonene"], seeds=1, quick=True, loso=False, out=out, progress=False,
                          data_dir=limonene_path.parent, overwrite=True)  # refused before any work
    with pytest.raises(RunExistsError, match="holds files but no manifest.json"):
        compare.write_results(_output(loso=False), out, overwrite=True)
    assert (out / "results.csv").read_text() == "my own results" and len(list(out.iterdir())) == 2


def test_results_through_a_linked_folder(tmp_path):
    real, link = tmp_path / "real", tmp_path / "link"
    compare.write_results(_output(loso=True), real)
    link.symlink_to(real, target_is_directory=True)
    compare.write_results(_output(loso=False, seed=3), link, overwrite=True)
    assert link.is_symlink() and "loso.csv" not in {p.name for p in real.iterdir()}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link", "real"]
