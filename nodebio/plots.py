"""The figures of the book. Every function returns the matplotlib Figure it drew.

Axes carry units (from the dataset) and time in hours.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.colors import ListedColormap
from matplotlib.patches import FancyBboxPatch, Patch
from matplotlib.ticker import FuncFormatter, NullFormatter

from nodebio.data import PATHWAYS, Dataset, Trajectories, pathway_chain, reactions_for
from nodebio.errors import UsageError

__all__ = ["plot_pathway", "plot_missingness", "plot_strains", "plot_preprocessing", "plot_training_history",
           "plot_predictions", "plot_derivative_estimation", "plot_single_protein_effects", "plot_pairwise_heatmap",
           "plot_intervention_trajectories", "plot_intervention_validation", "plot_effects_against_truth", "plot_reaction_network"]

STRAIN_COLORS = plt.get_cmap("tab10").colors
#: The widest figure, in inches: the book's text column (about 660 px) at 100 dpi, less a margin,
#: so that a figure is drawn at its natural size and its labels stay legible.
PAGE_WIDTH = 8.0


def _grid(n: int, ncols: int, width: float = 2.6, height: float = 2.2, sharex=True):
    ncols = max(1, min(ncols, n))
    nrows = int(np.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(min(width * ncols, PAGE_WIDTH), height * nrows), sharex=sharex,
                             squeeze=False, constrained_layout=True)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat[:n]


def plot_pathway(pathway: str = "limonene", ax=None):
    """The pathway as a chain of metabolites (boxes) and enzymes (arrow labels).

    Metabolites that the pathway table measures are filled; unmeasured intermediates are white.
    The chain is the pathway's reaction list (:func:`nodebio.data.reactions_for`) unrolled into
    single steps, lumped intermediates included (:func:`nodebio.data.pathway_chain`).
    """
    steps = [(a, b, ", ".join(e.replace(" ", "\n") for e in enzymes))  # "Limonene\nSynthase"
             for a, b, enzymes in pathway_chain(reactions_for(pathway))]
    measured = set(PATHWAYS[pathway].states)
    nodes = [steps[0][0]] + [s[1] for s in steps]
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.45 * len(nodes), 2.2), constrained_layout=True)
    else:
        fig = ax.figure
    for i, node in enumerate(nodes):
        ax.add_patch(FancyBboxPatch((i * 1.5 - 0.6, -0.25), 1.2, 0.5, boxstyle="round,pad=0.05",
                                    facecolor="#cfe3f5" if node in measured else "white",
                                    edgecolor="#1f4e79", linewidth=1.2))
        label = node if len(node) <= 11 else node.replace("-", "-\n", 1)  # "Acetoacetyl-\nCoA"
        ax.text(i * 1.5, 0, label, ha="center", va="center", fontsize=8.5)
    for i, (_, _, enzyme) in enumerate(steps):
        ax.annotate("", xy=(i * 1.5 + 0.85, 0), xytext=(i * 1.5 + 0.65, 0),
                    arrowprops=dict(arrowstyle="-|>", color="#444", lw=1.2))
        ax.text(i * 1.5 + 0.75, 0.3, enzyme, ha="center", va="bottom", fontsize=8, color="#8a2b0e",
                style="italic")
    ax.set_xlim(-0.8, (len(nodes) - 1) * 1.5 + 0.8)
    ax.set_ylim(-0.5, 0.8)
    ax.axis("off")
    ax.legend(handles=[Patch(facecolor="#cfe3f5", edgecolor="#1f4e79", label="model state (measured)"),
                       Patch(facecolor="white", edgecolor="#1f4e79", label="not a model state")],
              loc="lower center", ncol=2, fontsize=8, frameon=False, bbox_to_anchor=(0.5, -0.25))
    return fig


def plot_missingness(dataset: Dataset):
    """What was measured when: one panel per strain, variables x sampling times.

    Sampling times include the excluded rows (rows without any pathway value), shown as
    their own category so that nothing disappears from view.
    """
    strains = dataset.strains
    variables = list(dataset.variables)
    fig, axes = plt.subplots(1, len(strains), figsize=(min(3.6 * len(strains) + 1.5, PAGE_WIDTH), 0.22 * len(variables) + 1.4),
                             sharey=True, squeeze=False, constrained_layout=True)
    cmap = ListedColormap(["#f2f2f2", "#d9534f", "#2c7fb8"])
    for ax, strain in zip(axes.flat, strains):
        rows = dataset.table["strain"] == strain
        times = list(dataset.table.loc[rows, "time"])
        excluded = []
        if len(dataset.excluded_rows):
            excluded = list(dataset.excluded_rows.loc[dataset.excluded_rows["strain"] == strain, "time"])
        all_times = sorted(times + excluded)
        grid = np.zeros((len(variables), len(all_times)))
        for j, t in enumerate(all_times):
            if t in times:
                k = times.index(t)
                grid[:, j] = np.where(dataset.mask.loc[rows, variables].to_numpy()[k], 2, 1)
        ax.imshow(grid, aspect="auto", cmap=cmap, vmin=0, vmax=2, interpolation="nearest")
        ax.set_xticks(range(len(all_times)), [f"{t:g}" for t in all_times], rotation=90, fontsize=8)
        ax.set_yticks(range(len(variables)), variables, fontsize=8)
        ax.set_title(f"strain {strain}", fontsize=10)
        ax.set_xlabel("sampling time (h)")
        ax.axhline(len(dataset.controls) - 0.5, color="k", lw=0.8)
    fig.legend(handles=[Patch(color="#2c7fb8", label="measured"), Patch(color="#d9534f", label="missing"),
                        Patch(color="#f2f2f2", label="row without pathway values (excluded)")],
               loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    return fig


def plot_strains(dataset: Dataset, variables: Sequence[str] | None = None, ncols: int = 3,
                 log: bool = False):
    """Small multiples: one panel per variable, one line per strain, measured values as dots."""
    variables = list(variables) if variables is not None else list(dataset.states)
    fig, axes = _grid(len(variables), ncols)
    for ax, variable in zip(axes, variables):
        for k, strain in enumerate(dataset.strains):
            t, v = dataset.measurements(strain, variable)
            ax.plot(t, v, "o-", ms=3.5, lw=1.2, color=STRAIN_COLORS[k % 10], label=strain)
        ax.set_title(variable, fontsize=10)
        ax.set_ylabel(dataset.unit(variable) if dataset.unit(variable) != "?" else "value")
        if log:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    for ax in axes:
        ax.set_xlabel("time (h)")
    axes[0].legend(fontsize=8, ncol=1 if len(dataset.strains) <= 4 else 2)
    return fig


def plot_preprocessing(dataset: Dataset, grid: Trajectories, strain: str,
                       variables: Sequence[str] | None = None, ncols: int = 3):
    """Raw vs preprocessed for one strain: measured values, filled gaps and the even grid."""
    variables = list(variables) if variables is not None else list(dataset.states)
    fig, axes = _grid(len(variables), ncols)
    i = grid.index(strain)
    rows = dataset.table["strain"] == strain
    for ax, variable in zip(axes, variables):
        series = grid.x if variable in grid.states else grid.u
        names = grid.states if variable in grid.states else grid.controls
        ax.plot(grid.times, series[i, :, names.index(variable)], "-", lw=1.2, color="#444",
                label=f"{len(grid.times)}-point grid")
        t_meas, v_meas = dataset.measurements(strain, variable)
        ax.plot(t_meas, v_meas, "o", ms=5, color="#2c7fb8", label="measured")
        missing = rows & ~dataset.mask[variable]
        if missing.any():
            t_fill = dataset.table.loc[missing, "time"].to_numpy(float)
            ax.plot(t_fill, np.interp(t_fill, t_meas, v_meas), "o", ms=6, mfc="white",
                    color="#d9534f", label="filled (interpolated)")
        ax.set_title(variable, fontsize=10)
        ax.set_ylabel(dataset.unit(variable))
        ax.set_xlabel("time (h)")
        ax.grid(alpha=0.3)
    handles, labels = [], []
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8, frameon=False)
    return fig


def plot_training_history(histories: dict, ax=None):
    """Loss curves: the mini-batch loss of every iteration and the whole-trajectory training
    loss at each evaluation, for each named run (``{name: model.history}``). Log scale."""
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.5, 3.6), constrained_layout=True)
    else:
        fig = ax.figure
    for k, (name, history) in enumerate(histories.items()):
        color = STRAIN_COLORS[k % 10]
        it = [h["iteration"] for h in history]
        ax.plot(it, [h["loss"] for h in history], color=color, alpha=0.35, lw=1)
        evaluated = [h for h in history if "train_rollout_loss" in h]
        ax.plot([h["iteration"] for h in evaluated], [h["train_rollout_loss"] for h in evaluated], "o-",
                color=color, ms=3, lw=1.5, label=f"{name}: whole training trajectories")
    ax.set_yscale("log")
    ax.set_xlabel("iteration")
    ax.set_ylabel("mean squared error (scaled units)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, title="faint: mini-batch loss (windows)", title_fontsize=8)
    return fig


def plot_predictions(grid: Trajectories, predicted: dict, strain: str, ncols: int = 3,
                     reference: Trajectories | None = None):
    """Predicted vs measured trajectories of one strain, one panel per state, original units.

    predicted : ``{label: array (S, T, n_states)}`` simulations of ``grid``'s strains.
    reference : optional training strains, drawn faintly for the range the model has seen.
    """
    i = grid.index(strain)
    fig, axes = _grid(len(grid.states), ncols, width=2.6, height=2.2)
    points = grid.measured[(grid.measured["strain"] == strain)]
    for j, (ax, state) in enumerate(zip(axes, grid.states)):
        if reference is not None:
            for k in range(len(reference.strains)):
                ax.plot(reference.times, reference.x[k, :, j], color="#bbbbbb", lw=1,
                        label="training strains" if k == 0 else None)
        mine = points[points["variable"] == state]
        ax.plot(mine["time"], mine["value"], "o", color="k", ms=4, label=f"{strain} measured")
        for k, (label, values) in enumerate(predicted.items()):
            ax.plot(grid.times, values[i, :, j], lw=1.8, color=STRAIN_COLORS[(k + 3) % 10], label=label)
        ax.set_title(state, fontsize=10)
        ax.set_ylabel(grid.units.get(state, ""))
        ax.set_xlabel("time (h)")
        ax.grid(alpha=0.3)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=min(4, len(labels)), fontsize=8, frameon=False)
    return fig


def plot_derivative_estimation(grid: Trajectories, strain: str, states: Sequence[str], window: int = 7,
                               order: int = 2):
    """How the 2018 baseline sees the data: for each state (a column), the measured values, the
    grid and its Savitzky-Golay smoothing (top), and the derivative estimated by Savitzky-Golay
    and by central differences (bottom)."""
    from scipy.signal import savgol_filter

    from nodebio.models.baseline import estimate_derivatives

    i = grid.index(strain)
    fig, axes = plt.subplots(2, len(states), figsize=(3.4 * len(states), 4.6), sharex=True,
                             squeeze=False, constrained_layout=True)
    dt = grid.times[1] - grid.times[0]
    for col, state in enumerate(states):
        j = grid.states.index(state)
        series = grid.x[i, :, j]
        points = grid.measured[(grid.measured["strain"] == strain) & (grid.measured["variable"] == state)]
        top, bottom = axes[0, col], axes[1, col]
        top.plot(points["time"], points["value"], "o", color="k", ms=4, label="measured")
        top.plot(grid.times, series, color="#999999", lw=1, label="grid (interpolated)")
        top.plot(grid.times, savgol_filter(series, window, order, delta=dt), color=STRAIN_COLORS[0], lw=1.5,
                 label=f"Savitzky-Golay ({window}, {order})")
        top.set_title(f"{state} ({strain})", fontsize=10)
        top.set_ylabel(grid.units.get(state, ""))
        for method, color in (("savgol", STRAIN_COLORS[0]), ("central", STRAIN_COLORS[1])):
            bottom.plot(grid.times, estimate_derivatives(grid.times, series[:, None], method, window, order)[:, 0],
                        color=color, lw=1.3, label="Savitzky-Golay" if method == "savgol" else "central differences")
        unit = grid.units.get(state, "")
        bottom.set_ylabel(f"d/dt ({unit}/h)" if unit else "d/dt (per h)")
        bottom.set_xlabel("time (h)")
        for ax in (top, bottom):
            ax.grid(alpha=0.3)
    axes[0, 0].legend(fontsize=7)
    axes[1, 0].legend(fontsize=7)
    return fig


# ---------------------------------------------------------------------------------------------
# Interventions
# ---------------------------------------------------------------------------------------------


def plot_single_protein_effects(table, *, title: str | None = None, ax=None):
    """Tornado chart of single-protein interventions: for each protein (a row), the predicted
    fold change of the product titer when it is lowered (left) and raised (right), with the
    ensemble interval as error bars. Hatched bars: the intervention moves a protein out of the
    training range. ``table``: :meth:`nodebio.interventions.InterventionResult.table`.
    Proteins are sorted by the size of their largest effect; fold change on a log axis."""
    rows = table[table["protein"].str.len().gt(0) & ~table["protein"].str.contains(",")].copy()
    if rows.empty:
        raise UsageError("The table has no single-protein interventions to plot.")
    rows["effect"] = np.abs(np.log(rows["fold_change"].clip(lower=1e-9)))
    order = rows.groupby("protein")["effect"].max().sort_values().index.tolist()
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.8, 0.42 * len(order) + 1.4), constrained_layout=True)
    else:
        fig = ax.figure
    factors = sorted(rows["factor"].unique())
    colors = {f: ("#2166ac" if f < 1 else "#b2182b") for f in factors}
    height = 0.8 / max(1, len(factors))
    for k, factor in enumerate(factors):
        sub = rows[rows["factor"] == factor].set_index("protein").reindex(order)
        y = np.arange(len(order)) + (k - (len(factors) - 1) / 2) * height
        left = np.ones(len(order))
        width = sub["fold_change"].to_numpy() - 1.0
        bars = ax.barh(y, width, left=left, height=height * 0.9, color=colors[factor], alpha=0.85,
                       label=f"x{factor:g}")
        for bar, hatch in zip(bars, sub["adds_extrapolation"].fillna(False).to_numpy()):
            if hatch:
                bar.set_hatch("///")
                bar.set_edgecolor("k")
        err = np.vstack([sub["fold_change"] - sub["fold_change_low"], sub["fold_change_high"] - sub["fold_change"]])
        ax.errorbar(sub["fold_change"], y, xerr=np.clip(err, 0, None), fmt="none", ecolor="k", lw=1, capsize=2)
    ax.axvline(1.0, color="k", lw=0.8)
    ax.set_yticks(np.arange(len(order)), order)
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[-1] in "2468" else ""))
    ax.set_xlabel("predicted fold change of the product titer at the final time")
    ax.grid(axis="x", alpha=0.3, which="both")
    handles, labels = ax.get_legend_handles_labels()
    handles.append(Patch(facecolor="white", edgecolor="k", hatch="///"))
    labels.append("leaves the training range")
    ax.legend(handles, labels, fontsize=8, loc="best")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def plot_pairwise_heatmap(result, protein_a: str, protein_b: str, *, ax=None):
    """Heatmap of the predicted product titer at the final time (ensemble mean, original units)
    against the factors of two proteins, from a :func:`nodebio.interventions.pairwise_scan`.
    Cells marked ``x`` leave the training range beyond the unmodified strain; the contour of
    the unmodified titer separates better from worse designs."""
    table = result.table(ranked=False)
    factors = result.factors()
    for p in (protein_a, protein_b):
        if p not in factors:
            raise UsageError(f"{p!r} is not scanned in this result (scanned: {', '.join(factors.columns)}).")
    frame = factors[[protein_a, protein_b]].assign(titer=table["titer_mean"],
                                                   flag=table["adds_extrapolation"]).dropna()
    grid = frame.pivot_table(index=protein_b, columns=protein_a, values="titer", aggfunc="mean")
    flags = frame.pivot_table(index=protein_b, columns=protein_a, values="flag", aggfunc="max")
    if ax is None:
        fig, ax = plt.subplots(figsize=(5.6, 4.4), constrained_layout=True)
    else:
        fig = ax.figure
    image = ax.imshow(grid.to_numpy(), origin="lower", cmap="viridis", aspect="auto")
    ax.set_xticks(range(grid.shape[1]), [f"{v:.3g}" for v in grid.columns], rotation=45)
    ax.set_yticks(range(grid.shape[0]), [f"{v:.3g}" for v in grid.index])
    ax.set_xlabel(f"{protein_a} factor")
    ax.set_ylabel(f"{protein_b} factor")
    unit = result.units.get(result.product, "")
    fig.colorbar(image, ax=ax, label=f"{result.product} at {result.times[-1]:g} h ({unit})")
    reference = float(table.loc[0, "titer_mean"])
    if grid.to_numpy().min() < reference < grid.to_numpy().max():
        ax.contour(grid.to_numpy(), levels=[reference], colors="w", linewidths=1.2)
    for (r, c), flag in np.ndenumerate(flags.to_numpy()):
        if flag:
            ax.text(c, r, "x", ha="center", va="center", color="w", fontsize=9)
    ax.set_title(f"strain {result.strain}: white line = unmodified titer; x = new extrapolation", fontsize=9)
    return fig


def plot_intervention_trajectories(result, interventions: Sequence[str] | None = None, variable: str | None = None,
                                   ax=None):
    """The product (or ``variable``) over time under a few interventions: ensemble mean and
    interval band. ``interventions``: their printed names (default the unmodified strain and the
    best and worst predicted designs)."""
    band = result.band(variable)
    variable = variable or result.product
    if interventions is None:
        table = result.table()
        interventions = list(dict.fromkeys(["unmodified", table["intervention"].iloc[0],
                                            table["intervention"].iloc[-1]]))
    if ax is None:
        fig, ax = plt.subplots(figsize=(6.2, 3.6), constrained_layout=True)
    else:
        fig = ax.figure
    for k, name in enumerate(interventions):
        rows = band[band["intervention"] == name]
        if rows.empty:
            raise UsageError(f"No intervention {name!r} in this result.")
        color = "k" if name == "unmodified" else STRAIN_COLORS[k % 10]
        ax.plot(rows["time"], rows["mean"], color=color, lw=1.8, label=name)
        ax.fill_between(rows["time"], rows["low"], rows["high"], color=color, alpha=0.18)
    ax.set_xlabel("time (h)")
    ax.set_ylabel(f"{variable} ({result.units.get(variable, '')})")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return fig


def plot_intervention_validation(validation):
    """Synthetic ground truth: (left) predicted against true fold change of the product for
    every held-out strain and single-protein intervention, one colour per number of training
    strains, with ensemble intervals; (right) Spearman correlation, sign agreement and interval
    coverage against the number of training strains."""
    details, summary = validation.details, validation.summary
    fig, (left, right) = plt.subplots(1, 2, figsize=(PAGE_WIDTH, 3.8), constrained_layout=True)
    for k, (n, rows) in enumerate(details.groupby("training_strains")):
        color = STRAIN_COLORS[k % 10]
        err = np.clip(np.vstack([rows["fold_change"] - rows["fold_change_low"],
                                 rows["fold_change_high"] - rows["fold_change"]]), 0, None)
        left.errorbar(rows["true_fold_change"], rows["fold_change"], yerr=err, fmt="o", ms=3, color=color,
                      alpha=0.7, elinewidth=0.7, label=f"{n} training strains")
    values = np.concatenate([details["true_fold_change"], details["fold_change"]])
    values = values[np.isfinite(values) & (values > 0)]
    lo, hi = values.min() / 1.1, values.max() * 1.1
    left.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="perfect prediction")
    left.set_xscale("log")
    left.set_yscale("log")
    for axis in (left.xaxis, left.yaxis):
        axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if f"{v:g}"[-1] in "2468" else ""))
    left.set_xlabel("true fold change (mechanistic model)")
    left.set_ylabel("predicted fold change (ensemble mean)")
    left.grid(alpha=0.3, which="both")
    left.legend(fontsize=8)
    for column, label, marker in (("spearman", "Spearman correlation", "o"), ("sign_agreement", "sign agreement", "s"),
                                  ("coverage", "interval coverage", "^")):
        right.plot(summary["training_strains"], summary[column], marker=marker, label=label)
    right.axhline(validation.settings["level"], color="grey", ls=":", lw=1, label="nominal coverage")
    right.set_xscale("log")
    right.set_xticks(summary["training_strains"], [str(n) for n in summary["training_strains"]])
    right.xaxis.set_minor_formatter(NullFormatter())
    right.set_xlabel("training strains")
    right.set_ylabel("score")
    right.set_ylim(min(-0.05, float(summary["spearman"].min()) - 0.05), 1.05)
    right.grid(alpha=0.3)
    right.legend(fontsize=8)
    return fig


def plot_effects_against_truth(validations: dict, *, ncols: int | None = None):
    """Predicted against true fold change of the product, one panel per model:
    ``validations`` maps a label to a :class:`~nodebio.experiments.validation.ValidationResult` (the
    largest number of training strains of each is drawn), with the ensemble intervals and the
    Spearman correlation in the title."""
    if not validations:
        raise UsageError("Give at least one validation result to plot.")
    n = len(validations)
    fig, axes = _grid(n, ncols or n, width=2.5, height=2.8, sharex=False)
    everything = np.concatenate([np.concatenate([v.details["true_fold_change"], v.details["fold_change"]])
                                 for v in validations.values()])
    everything = everything[np.isfinite(everything) & (everything > 0)]
    lo, hi = everything.min() / 1.1, everything.max() * 1.1
    for k, (ax, (label, validation)) in enumerate(zip(axes, validations.items())):
        details = validation.details
        count = details["training_strains"].max()
        rows = details[details["training_strains"] == count]
        summary = validation.summary.set_index("training_strains").loc[count]
        err = np.clip(np.vstack([rows["fold_change"] - rows["fold_change_low"],
                                 rows["fold_change_high"] - rows["fold_change"]]), 0, None)
        ax.errorbar(rows["true_fold_change"], rows["fold_change"], yerr=err, fmt="o", ms=3.5,
                    color=STRAIN_COLORS[k % 10], alpha=0.75, elinewidth=0.7)
        ax.plot([lo, hi], [lo, hi], "k--", lw=0.8)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        for axis in (ax.xaxis, ax.yaxis):
            axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            axis.set_minor_formatter(NullFormatter())
        ax.set_title(f"{label}: Spearman {summary['spearman']:.2f}\n{count} training strains", fontsize=9)
        ax.set_xlabel("true fold change (mechanistic)", fontsize=9)  # narrow panels: the page width
        ax.set_ylabel("predicted fold change (mean)", fontsize=9)
        ax.grid(alpha=0.3, which="both")
    return fig


def plot_reaction_network(reactions, states: Sequence[str], losses: bool = True, ax=None):
    """The structured model's wiring: states (boxes, in the given order), reactions (arrows from
    substrate to product, labelled with their enzymes and, in brackets, the intermediates they
    lump), a host supply, and the first-order losses (dashed).

    reactions : a list of :class:`nodebio.data.Reaction`; states : the model's states.
    """
    states = list(states)
    if ax is None:
        fig, ax = plt.subplots(figsize=(min(1.75 * len(states), PAGE_WIDTH), 2.7), constrained_layout=True)
    else:
        fig = ax.figure
    gap = 1.75
    for i, state in enumerate(states):
        ax.add_patch(FancyBboxPatch((i * gap - 0.6, -0.25), 1.2, 0.5, boxstyle="round,pad=0.05",
                                    facecolor="#cfe3f5", edgecolor="#1f4e79", linewidth=1.2))
        ax.text(i * gap, 0, state, ha="center", va="center", fontsize=8.5)
        if losses:
            ax.annotate("", xy=(i * gap, -0.75), xytext=(i * gap, -0.32),
                        arrowprops=dict(arrowstyle="-|>", color="#888", lw=1, linestyle="--"))
            ax.text(i * gap + 0.08, -0.6, rf"$\lambda_{{{i + 1}}}$", fontsize=8, color="#666", va="center")
    for reaction in reactions:
        if not reaction.substrates:  # a supply from the host
            k = states.index(next(iter(reaction.products)))
            ax.annotate("", xy=(k * gap - 0.68, 0), xytext=(k * gap - 1.25, 0),
                        arrowprops=dict(arrowstyle="-|>", color="#2a7a2a", lw=1.4))
            ax.text(k * gap - 0.95, 0.12, "host", ha="center", va="bottom", fontsize=7.5, color="#2a7a2a")
            continue
        i = states.index(next(iter(reaction.substrates)))
        for product in reaction.products or {}:
            k = states.index(product)
            ax.annotate("", xy=(k * gap - 0.68, 0), xytext=(i * gap + 0.68, 0),
                        arrowprops=dict(arrowstyle="-|>", color="#444", lw=1.4))
            label = ", ".join(reaction.enzymes)
            if reaction.lumped:
                label += "\n(" + ", ".join(reaction.lumped) + ")"
            ax.text((i + k) / 2 * gap, 0.3, label, ha="center", va="bottom", fontsize=7.5, color="#8a2b0e",
                    style="italic")
    ax.set_xlim(-1.4, (len(states) - 1) * gap + 0.8)
    ax.set_ylim(-0.9, 1.0)
    ax.axis("off")
    return fig
