"""The figures."""

from __future__ import annotations

import pandas as pd
import pytest

from nodebio import interventions as iv
from nodebio.experiments import validation


def test_intervention_figures(intervention_ensemble, intervention_prepared):
    import matplotlib

    matplotlib.use("Agg")
    from nodebio import plots

    test = intervention_prepared.test
    single = iv.simulate_interventions(intervention_ensemble, test, iv.single_protein_scan(["HMGR", "MK"], [0.5, 2]),
                                       product="Limonene", control_range=iv.training_range(intervention_prepared.train))
    fig = plots.plot_single_protein_effects(single.table())
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] != []
    pair = iv.simulate_interventions(intervention_ensemble, test, iv.pairwise_scan("HMGR", "MK", [0.5, 1, 2]), product="Limonene")
    fig = plots.plot_pairwise_heatmap(pair, "HMGR", "MK")
    assert fig.axes[0].images[0].get_array().shape == (3, 3)
    with pytest.raises(ValueError, match="'PMK' is not scanned"):
        plots.plot_pairwise_heatmap(pair, "HMGR", "PMK")
    fig = plots.plot_intervention_trajectories(single)
    assert len(fig.axes[0].lines) == 3  # unmodified, best, worst
    with pytest.raises(ValueError, match="No intervention 'HMGR x9'"):
        plots.plot_intervention_trajectories(single, ["HMGR x9"])


def test_effects_against_truth_figure():
    import matplotlib

    matplotlib.use("Agg")
    from nodebio import plots

    details = pd.DataFrame({"training_strains": [2, 2, 3, 3], "true_fold_change": [0.5, 2.0, 0.5, 2.0],
                            "fold_change": [0.8, 1.5, 0.6, 1.9], "fold_change_low": [0.7, 1.2, 0.5, 1.7],
                            "fold_change_high": [0.9, 1.8, 0.7, 2.1]})
    summary = pd.DataFrame({"training_strains": [2, 3], "spearman": [1.0, 1.0]})
    result = validation.ValidationResult(summary, details, {"level": 0.9})
    fig = plots.plot_effects_against_truth({"a": result, "b": result})
    assert len(fig.axes) == 2 and "3 training strains" in fig.axes[0].get_title()
    with pytest.raises(ValueError, match="at least one"):
        plots.plot_effects_against_truth({})
