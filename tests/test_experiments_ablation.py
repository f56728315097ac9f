"""The ablation: selection by inner folds only."""

from __future__ import annotations

import pytest

from nodebio import data
from nodebio.experiments import ablation

from conftest import has_data


def test_ablation_table_separates_selection_and_test():
    import pandas as pd

    runs = pd.DataFrame([
        {"experiment": e, "pathway": p, "seed": 0, "split": s, "rmse_scaled": v, "rmse_integral": v,
         "status": "ok", "seconds": 1.0}
        for e, p, s, v in [("a", "limonene", "inner:L1", 1.0), ("a", "limonene", "inner:L3", 3.0),
                           ("a", "limonene", "test", 100.0), ("b", "limonene", "inner:L1", 2.0),
                           ("b", "limonene", "inner:L3", 2.5), ("b", "limonene", "test", 0.0)]])
    table = ablation.ablation_table(runs).set_index("experiment")
    assert table.loc["a", "inner mean"] == 2.0 and table.loc["b", "inner mean"] == 2.25
    assert table.loc["a", "test limonene"] == 100.0  # reported, but not part of the selection score
    assert table["inner mean"].idxmin() == "a"


def test_inner_folds_never_contain_the_test_strain():
    if not has_data("isopentenol_data.csv"):
        pytest.skip("the pathway tables are not available")
    for pathway, spec in data.PATHWAYS.items():
        folds = ablation.inner_folds(pathway)
        assert [held for held, _ in folds] == list(spec.train)
        for held, prepared in folds:
            strains = set(prepared.train.strains) | set(prepared.test.strains)
            assert not strains & set(spec.test) and prepared.test.strains == (held,)


def test_references_are_scored_but_never_kept():
    import pandas as pd

    table = pd.DataFrame({"experiment": ["plain", "reference: persistence"], "reference": [False, True],
                          "inner mean": [2.0, 1.0]})
    assert ablation.best_experiment(table) == "plain"
    assert [o["model"] for o in ablation.REFERENCE_EXPERIMENTS.values()] == ["mean", "persistence", "nearest"]


def test_an_ablation_scores_the_references_on_the_same_folds(limonene_path):
    runs = ablation.ablation({"plain": {"iterations": 4, "eval_every": 2}}, ["limonene"], quick=True, progress=False,
                             data_dir=limonene_path.parent)
    table = ablation.ablation_table(runs)
    assert set(table["experiment"]) == {"plain", *ablation.REFERENCE_EXPERIMENTS}
    assert table.set_index("experiment")["reference"].to_dict()["plain"] is False
    assert set(runs[runs["experiment"] == "reference: persistence"]["split"]) == {"inner:L1", "inner:L3", "test"}
    assert ablation.best_experiment(table) == "plain"


def test_best_experiment_of_one_model_and_the_kinetic_rows_run(limonene_path):
    import pandas as pd

    labels = ["plain (default)", "kinetic (default)", "kinetic, with flux correction", "reference: persistence"]
    table = pd.DataFrame({"experiment": labels, "reference": [False, False, False, True],
                          "inner mean": [1.0, 3.0, 2.0, 0.5]})
    assert ablation.best_experiment(table) == "plain (default)"
    assert ablation.best_experiment(table, model="node-kinetic") == "kinetic, with flux correction"
    with pytest.raises(ValueError, match="No experiment of model 'zero'"):
        ablation.best_experiment(table, model="zero")
    # the kinetic rows are prepared with the model's own scalings (enzymes in original units, and
    # OD600 among the controls for growth dilution)
    runs = ablation.ablation({"kinetic": {"model": "node-kinetic", "growth": "OD600", "iterations": 4, "eval_every": 2}},
                             ["limonene"], quick=True, progress=False, references=False, test=False,
                             data_dir=limonene_path.parent)
    assert (runs["status"] == "ok").all() and runs["rmse_scaled"].notna().all()


def test_the_negative_penalty_changes_the_loss_and_is_reported_active(limonene_path):
    from nodebio.experiments.ablation import PENALTY_EXPERIMENTS, penalty_ablation

    assert set(PENALTY_EXPERIMENTS) == {"no penalty", "negative (default)", "negative x10"}
    experiments = {**PENALTY_EXPERIMENTS,
                   "derivative, limit never reached": {"derivative_weight": 1.0, "derivative_limit": 1e6}}
    table = penalty_ablation(["limonene"], seeds=1, quick=True, experiments=experiments,
                             data_dir=limonene_path.parent).set_index("experiment")
    assert not table.loc["no penalty", "penalty_active"]
    assert table.loc["negative (default)", "penalty_active"] and table.loc["negative (default)", "largest_penalty"] > 0
    # the penalty acts on the loss, so the trained model differs from the one without it
    assert table.loc["negative (default)", "rmse_scaled"] != table.loc["no penalty", "rmse_scaled"]
    assert table.loc["negative x10", "largest_penalty"] > table.loc["negative (default)", "largest_penalty"]
    # a derivative penalty whose limit is never reached adds nothing: the default under another name
    derivative = table.loc["derivative, limit never reached"]
    assert derivative["largest_penalty"] == pytest.approx(table.loc["negative (default)", "largest_penalty"])
    assert derivative["rmse_scaled"] == table.loc["negative (default)", "rmse_scaled"]
