"""The TPOT artifact: loading with its checks, provenance, and the committed artifact (no TPOT needed)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from nodebio import data
from nodebio.experiments import tpot_artifact

from conftest import has_data


def _fake_artifact(folder, pathway="limonene", data_sha=None, seeds=(0, 1)):
    """A small artifact in ``folder``, as generate writes it (3 grid points, two states)."""
    times = np.linspace(0.0, 72.0, 3)
    frame = pd.concat([pd.DataFrame({"strain": "L2", "time": times, "variable": state, "predicted": value + times,
                                     "seed": seed})
                       for seed in seeds for state, value in (("Acetyl-CoA", 1.0), ("Limonene", 0.1))])
    path = tpot_artifact.artifact_path(pathway, folder)
    frame.to_csv(path, index=False)
    files = {name: data.REGISTRY[name].sha256 for name in tpot_artifact._data_files(pathway)}
    files.update(data_sha or {})
    provenance = {"artifact": "test", "pathways": {pathway: {
        "file": path.name, "file_sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "data_sha256": files,
        "seeds": list(seeds), "settings": dict(tpot_artifact.SETTINGS), "packages": {}, "runs": []}}}
    (folder / tpot_artifact.PROVENANCE_FILE).write_text(json.dumps(provenance))
    return frame


def test_load_a_small_artifact(tmp_path):
    _fake_artifact(tmp_path)
    frame = tpot_artifact.load("limonene", artifact_dir=tmp_path)
    assert list(frame.columns) == ["strain", "time", "variable", "predicted", "seed"]
    assert len(frame) == 12 and set(frame["seed"]) == {0, 1}
    assert frame.attrs["provenance"]["seeds"] == [0, 1]
    array = tpot_artifact.predictions_array(frame, 1, ["L2"], ["Limonene", "Acetyl-CoA"], np.linspace(0, 72, 3))
    assert array.shape == (1, 3, 2) and array[0, -1, 1] == pytest.approx(73.0)


def test_missing_artifact_is_a_clear_error(tmp_path):
    with pytest.raises(tpot_artifact.ArtifactMissingError, match="make tpot"):
        tpot_artifact.load("limonene", artifact_dir=tmp_path)
    _fake_artifact(tmp_path)
    with pytest.raises(tpot_artifact.ArtifactMissingError, match="no 'isopentenol' run"):
        tpot_artifact.load("isopentenol", artifact_dir=tmp_path)
    tpot_artifact.artifact_path("limonene", tmp_path).unlink()
    with pytest.raises(tpot_artifact.ArtifactMissingError, match="is missing"):
        tpot_artifact.load("limonene", artifact_dir=tmp_path)


def test_stale_artifacts_are_refused(tmp_path):
    _fake_artifact(tmp_path, data_sha={"limonene_data.csv": "0" * 64})
    with pytest.raises(tpot_artifact.StaleArtifactError, match="limonene_data.csv with sha256 000000000000"):
        tpot_artifact.load("limonene", artifact_dir=tmp_path)
    _fake_artifact(tmp_path)
    path = tpot_artifact.artifact_path("limonene", tmp_path)
    path.write_text(path.read_text().replace("L2", "L1"))
    with pytest.raises(tpot_artifact.StaleArtifactError, match="changed after it was generated"):
        tpot_artifact.load("limonene", artifact_dir=tmp_path)


@pytest.mark.skipif(not has_data("isopentenol_data.csv") or not has_data("time_series_metabolomics.csv"),
                    reason="the pathway data are not at hand")
def test_generate_writes_provenance(tmp_path):
    # the TPOT path without TPOT: small gradient boosting in place of the search
    provenance = tpot_artifact.generate(["isopentenol"], [3], 0.1, tmp_path, regressor="gb",
                                        settings={"n_estimators": 5, "n_points": 50}, command="test")
    entry = provenance["pathways"]["isopentenol"]
    for field in ("created", "command", "packages", "data_sha256", "file_sha256", "seeds", "settings", "time_bound",
                  "runs", "wall_seconds"):
        assert field in entry, field
    assert entry["settings"]["generations"] == 50 and entry["settings"]["population_size"] == 30
    assert entry["settings"]["max_time_mins"] == 0.1
    assert entry["data_sha256"]["isopentenol_data.csv"] == data.REGISTRY["isopentenol_data.csv"].sha256
    run = entry["runs"][0]
    assert run["held_out"] == ["I2"] and run["train"] == ["I1", "I3"]
    assert set(run["pipelines"]) == set(run["states"]) and "ATP" in run["covariates"]
    frame = tpot_artifact.load("isopentenol", artifact_dir=tmp_path)
    assert len(frame) == 50 * 6 and set(frame["seed"]) == {3}
    # a second pathway is merged into the same provenance file
    tpot_artifact.generate(["limonene"], [3], 0.1, tmp_path, regressor="gb", settings={"n_estimators": 5, "n_points": 50})
    assert set(tpot_artifact.load_provenance(tmp_path)["pathways"]) == {"isopentenol", "limonene"}
    scores = tpot_artifact.held_out_scores("isopentenol", tmp_path)
    assert set(scores["state"]) == set(data.PATHWAYS["isopentenol"].states)
    assert np.isfinite(scores["rmse_integral"]).all()


@pytest.mark.parametrize("pathway", ["limonene", "isopentenol"])
def test_the_committed_artifact_is_there_and_current(pathway):
    frame = tpot_artifact.load(pathway)  # checks the data sha256 against the registry
    entry = frame.attrs["provenance"]
    assert entry["seeds"] == [0, 1, 2] and sorted(frame["seed"].unique()) == [0, 1, 2]
    assert entry["settings"]["regressor"] == "tpot" and entry["packages"]["tpot"] == "0.12.2"
    held_out = data.PATHWAYS[pathway].test
    assert set(frame["strain"]) == set(held_out)
    assert frame.groupby(["seed", "variable"]).size().eq(200).all()
    for run in entry["runs"]:
        assert set(run["pipelines"]) == set(run["states"])


def test_the_module_imports_no_torch():
    code = ("import sys, nodebio.experiments.tpot_artifact; "
            "sys.exit(1 if 'torch' in {m.split('.')[0] for m in sys.modules} else 0)")
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


@pytest.mark.parametrize("edit, message", [
    (lambda text: text + "}", r"tpot-provenance.json is not readable JSON \(Extra data"),
    (lambda text: text.replace('"file_sha256"', '"file_sha"'), r"tpot-provenance.json: the entry of 'limonene' has "
                                                              r"no 'file_sha256'"),
    (lambda text: "[]", r"tpot-provenance.json has no 'pathways' object"),
])
def test_a_malformed_provenance_names_the_file_and_field(tmp_path, edit, message):
    _fake_artifact(tmp_path)
    path = tmp_path / tpot_artifact.PROVENANCE_FILE
    path.write_text(edit(path.read_text()))
    with pytest.raises(tpot_artifact.ArtifactFormatError, match=message):
        tpot_artifact.load("limonene", artifact_dir=tmp_path)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "many"])
def test_predictions_that_are_not_finite_are_refused(tmp_path, value):
    frame = _fake_artifact(tmp_path)
    path = tpot_artifact.artifact_path("limonene", tmp_path)
    frame = frame.astype({"predicted": object})
    frame.iloc[4, frame.columns.get_loc("predicted")] = value
    frame.to_csv(path, index=False)
    provenance = json.loads((tmp_path / tpot_artifact.PROVENANCE_FILE).read_text())
    provenance["pathways"]["limonene"]["file_sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()  # "matching"
    (tmp_path / tpot_artifact.PROVENANCE_FILE).write_text(json.dumps(provenance))
    with pytest.raises(tpot_artifact.ArtifactFormatError, match=r"1 of 12 predictions are not finite numbers "
                                                                r"\(the first: row 6, 'Limonene' of 'L2' at 36.0 h"):
        tpot_artifact.load("limonene", artifact_dir=tmp_path)


def test_reproduce_checks_the_artifact_before_any_fit(tmp_path, monkeypatch):
    from nodebio.experiments import compare

    _fake_artifact(tmp_path)
    (tmp_path / tpot_artifact.PROVENANCE_FILE).write_text("{not json")
    monkeypatch.setattr(tpot_artifact, "ARTIFACT_DIR", tmp_path)
    fits = []
    monkeypatch.setattr(compare, "fit_and_score", lambda *a, **k: fits.append(a))
    with pytest.raises(tpot_artifact.ArtifactFormatError, match="tpot-provenance.json is not readable JSON"):
        compare.reproduce(["limonene"], seeds=1, quick=True, loso=False, out=None, progress=False)
    assert fits == []
