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
