r"""Which strains to build next: candidate designs ranked by predicted titer and its uncertainty.

In the manner of a recommendation tool for metabolic engineering, :func:`recommend` takes a fitted
ensemble (any model of :func:`nodebio.models.make_model`, one or several members), one strain of
its data, and:

1. builds candidate designs (:func:`candidate_designs`): every chosen protein scaled alone and
   every pair scaled together on a log grid of factors within ``[1/max_fold, max_fold]``, plus
   ``n_random`` designs that scale all chosen proteins at once (seeded, log-uniform);
2. keeps those inside the *trust region* (:func:`trust_region`): a design may move a protein only
   to peak levels within ``max_fold`` of the range of peak levels of the training strains;
   an empty region is an error that says how far the strain already is;
3. simulates them all with every member and scores each by an acquisition rule on the fold change
   against the unmodified strain, with the calibrated uncertainty of a
   :class:`nodebio.calibration.Calibration` when one is given (the members' spread otherwise):
   ``ei``, the expected improvement of the log fold change over 0 (the unmodified strain) under a
   normal predictive distribution of the log fold change, :math:`\sigma\varphi(\mu/\sigma) +
   \mu\Phi(\mu/\sigma)`; ``ucb``, the upper end of the interval; ``mean``, the predicted fold
   change alone;
4. returns a :class:`Recommendation`: the ranked table (with the extrapolation flags of
   :func:`nodebio.interventions.simulate_interventions`), ``save`` writes it with a figure.

:func:`recommend_run` does the same for a run folder of ``nodebio train``, calibrating by inner
leave-one-strain-out refits of the run's model (``nodebio recommend``).

Why these defaults
------------------
``max_fold = 4``: the held-out strains L2 and I2 already sit up to 10-21 times above the training
peaks in some proteins (the extrapolation table of the interventions chapter), and the synthetic
validation scores out-of-range strains worst; four-fold keeps a design's changed proteins near
what the models saw while still leaving candidates for such strains (measured in the quick
chapter: 206 of 712 candidates of L2 remain inside). ``levels = 2`` factors per side (0.25, 0.5,
2, 4) and ``n_random = 100`` give 712 candidates for 9 proteins, simulated in one batched solve per
member (measured: 525 candidates of a synthetic strain with 3 members in 0.8 s on one busy CPU
core). ``rule = "ei"``: the uncertainty-aware rule of recommendation tools; the validation
(``python -m nodebio.experiments.validation``) reports the true titers it reaches against random
designs and the baseline, whether or not it wins.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd

from nodebio import data as _data
from nodebio import seeds
from nodebio import interventions as iv
from nodebio.errors import UncalibratedIntervalsError, UsageError, unknown_message

__all__ = ["ACQUISITIONS", "MIN_FOLD", "Recommendation", "candidate_designs", "trust_region", "inside_region",
           "acquisition", "recommend", "recommend_run", "recommendation_paths"]

ACQUISITIONS = ("ei", "ucb", "mean")
#: The smallest ``max_fold``: the grid's factors of a smaller one differ from 1 by less than the
#: measurements' noise, and print alike.
MIN_FOLD = 1.1


def candidate_designs(proteins: Sequence[str], max_fold: float = 4.0, *, levels: int = 2, pairs: bool = True,
                      n_random: int = 100, seed: int = 0, factors: Sequence[float] | None = None
                      ) -> list[iv.Intervention]:
    """Single and pairwise scalings of ``proteins`` on ``levels`` log-spaced factors per side of 1
    up to ``max_fold`` (or on the given ``factors``), and ``n_random`` designs scaling all of them
    at once (seeded)."""
    proteins = list(dict.fromkeys(proteins))
    if not proteins:
        raise UsageError("A recommendation needs at least one protein to change.")
    low, high = iv.FACTOR_BOUNDS
    if not (np.isfinite(max_fold) and MIN_FOLD <= max_fold <= high):
        raise UsageError(f"max_fold (--max-fold) must be a number from {MIN_FOLD:g} to {high:g} (4 allows 0.25x to "
                         f"4x), got {max_fold}.")
    if levels < 1:
        raise UsageError(f"levels must be at least 1, got {levels}.")
    if factors is not None:
        bad = [f for f in factors if not (np.isfinite(f) and low <= f <= high)]
        if bad or not len(factors):
            raise UsageError(f"Factors (--factors) must be numbers from {low:g} to {high:g} (0.5 halves a protein, "
                             f"2 doubles it), got {', '.join(map(str, bad)) or 'none'}.")
        factors = sorted({float(f) for f in factors if f != 1})
        if not factors:
            raise UsageError("Factors (--factors) of 1 change nothing: give factors other than 1, e.g. 0.5,2.")
    else:
        up = [float(max_fold ** ((k + 1) / levels)) for k in range(levels)]
        factors = sorted([1.0 / f for f in up] + up)
    designs = [iv.scale(p, f) for p in proteins for f in factors]
    if pairs:
        designs += [iv.scale(a, fa) + iv.scale(b, fb) for a, b in itertools.combinations(proteins, 2)
                    for fa in factors for fb in factors]
    if n_random and len(proteins) > 2:
        rng = seeds.rng(seed, seeds.DESIGNS)
        draws = np.exp(rng.uniform(-np.log(max_fold), np.log(max_fold), (n_random, len(proteins))))
        designs += [iv.Intervention(tuple(iv.Change(p, factor=float(f)) for p, f in zip(proteins, row)))
                    for row in draws]
    return designs


def trust_region(train: _data.Trajectories, max_fold: float) -> pd.DataFrame:
    """Per control, the peak levels a design may reach: ``low`` = lowest training peak / max_fold,
    ``high`` = highest training peak x max_fold (columns ``low, high``, original units)."""
    peaks = train.u.max(axis=1)  # (strains, controls)
    return pd.DataFrame({"low": peaks.min(axis=0) / max_fold, "high": peaks.max(axis=0) * max_fold},
                        index=list(train.controls))


def inside_region(design: iv.Intervention, peaks: pd.Series, region: pd.DataFrame) -> bool:
    """True when every protein ``design`` scales has its scaled peak (``peaks``: the strain's)
    inside ``region``."""
    for p in design.proteins:
        level = peaks[p] * design.factor(p)
        if not region.loc[p, "low"] <= level <= region.loc[p, "high"]:
            return False
    return True


def acquisition(mean: np.ndarray, sigma: np.ndarray, high: np.ndarray, rule: str) -> np.ndarray:
    """The score of each design from the log fold change's ``mean`` and ``sigma`` (log-normal
    predictive) and the interval's upper end ``high``: see the module docstring."""
    from scipy.stats import norm

    if rule == "mean":
        return np.exp(mean)
    if rule == "ucb":
        return np.asarray(high, float)
    if rule == "ei":
        z = mean / sigma
        return sigma * norm.pdf(z) + mean * norm.cdf(z)
    raise UsageError(unknown_message("acquisition rule", [rule], ACQUISITIONS))


@dataclass
class Recommendation:
    """Ranked candidate designs of one strain.

    table : one row per design inside the trust region, best acquisition first: ``rank, design,
        proteins, titer_mean, titer_low, titer_high, fold_change, fold_change_low, fold_change_high,
        acquisition, extrapolation, extrapolated_proteins, interval`` and the factor of every chosen
        protein (``fold_change``: the geometric mean of the members, the center of the intervals).
    unmodified : the strain's own prediction (``titer_mean, titer_low, titer_high``).
    measured : the strain's measured titer at its last measurement of the product,
        ``{"time", "titer"}`` (None when the product was never measured), to set beside
        ``unmodified``: how far the model already is from the strain it starts from.
    
    Titers are clipped at zero (a model may simulate a negative concentration; ``settings["clipped"]``
    counts the values raised to zero).
    """

    table: pd.DataFrame
    strain: str
    product: str
    rule: str
    interval: str
    unmodified: dict
    region: pd.DataFrame
    settings: dict = field(default_factory=dict)
    measured: dict | None = None

    def top(self, n: int) -> pd.DataFrame:
        return self.table.head(n)

    def figure(self, n: int = 10):
        """Predicted fold change of the top ``n`` designs with their intervals (hatched:
        extrapolations), against the unmodified strain."""
        import matplotlib.pyplot as plt

        import textwrap

        top = self.table.head(n).iloc[::-1]
        # a design of many proteins wraps onto several lines: the figure grows with them
        labels = [textwrap.fill(str(design), 40) for design in top["design"]]
        lines = sum(label.count("\n") + 1 for label in labels)
        fig, ax = plt.subplots(figsize=(8, 0.3 * lines + 0.25 * len(top) + 1.5), layout="constrained")  # the page
        y = np.arange(len(top))
        for k, (_, row) in enumerate(top.iterrows()):
            ax.barh(k, row["fold_change"] - 1.0, left=1.0, color="tab:red" if row["fold_change"] > 1 else "tab:blue",
                    alpha=0.6, hatch="//" if row["extrapolation"] else None)
        err = np.clip(np.vstack([top["fold_change"] - top["fold_change_low"],
                                 top["fold_change_high"] - top["fold_change"]]), 0, None)
        ax.errorbar(top["fold_change"], y, xerr=err, fmt="none", ecolor="black", capsize=3)
        ax.axvline(1.0, color="black", lw=1)
        ax.set_yticks(y, labels, fontsize=8)
        ax.set_xscale("log")
        plain = plt.FuncFormatter(lambda v, _: f"{v:g}")  # 2, not 2x10^0
        ax.xaxis.set_major_formatter(plain)
        ax.xaxis.set_minor_formatter(plain)
        ax.set_xlabel(textwrap.fill(f"{self.product} fold change against unmodified {self.strain} ({self.interval})",
                                    70))  # a long interval description stays within the figure
        ax.set_title(f"Top {len(top)} designs by {self.rule} (hatched: extrapolation)")
        return fig

    def save(self, folder: str | Path, n: int = 10) -> list[Path]:
        """Write ``recommendations-<strain>.csv`` and ``.png`` into ``folder``."""
        import matplotlib.pyplot as plt

        from nodebio import safeio

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        table_path, figure_path = self.paths(folder)
        with safeio.atomic_path(table_path) as tmp:
            self.table.to_csv(tmp, index=False)
        fig = self.figure(n)
        try:
            with safeio.atomic_path(figure_path) as tmp:
                fig.savefig(tmp, dpi=120, bbox_inches="tight")
        finally:
            plt.close(fig)
        return [table_path, figure_path]

    def paths(self, folder: str | Path) -> tuple[Path, Path]:
        """The files :meth:`save` writes into ``folder``: ``recommendations-<strain>.csv`` and ``.png``."""
        return recommendation_paths(folder, self.strain)


def recommendation_paths(folder: str | Path, strain: str) -> tuple[Path, Path]:
    """``folder/recommendations-<strain>.csv`` and ``.png`` (the strain name made safe for a file
    name; a strain ``v1.1`` keeps its dots: ``recommendations-v1.1.csv``)."""
    stem = f"recommendations-{iv.safe_file_name(strain)}"
    return Path(folder) / f"{stem}.csv", Path(folder) / f"{stem}.png"


def recommend(ensemble, dataset: _data.Dataset, strain: str, *, n: int = 10, max_fold: float = 4.0,
              proteins: Sequence[str] | None = None, calibration=None, rule: str = "ei", levels: int = 2,
              n_random: int = 100, seed: int = 0, factors: Sequence[float] | None = None,
              force: bool = False) -> Recommendation:
    """Rank candidate designs of ``strain`` (module docstring); ``n`` is the length of the table
    (all designs inside the trust region with ``n=None``). ``ensemble`` is an
    :class:`nodebio.models.Ensemble` or one fitted model; ``proteins`` default to all controls;
    ``seed`` draws the random designs; ``factors`` replace the log grid of ``levels``.

    A ``calibration`` with fewer inner scores than its level needs
    (:func:`nodebio.calibration.too_few_scores`) is refused with
    :class:`~nodebio.errors.UncalibratedIntervalsError` unless ``force``: its intervals are then
    labelled as not calibrated."""
    from nodebio.calibration import too_few_scores
    from nodebio.models.ensemble import Ensemble

    if calibration is not None and not calibration.calibrated and not force:
        raise UncalibratedIntervalsError(too_few_scores(calibration.counts(), calibration.level)
                                         or f"The calibration is not exact: {calibration.describe()}. Give "
                                            "force=True (--force) to use it, labelled as such, or calibrate=False "
                                            "(--no-calibration) for the members' range.")

    if not isinstance(ensemble, Ensemble):
        ensemble = Ensemble.of([ensemble])
    if rule not in ACQUISITIONS:
        raise UsageError(unknown_message("acquisition rule", [rule], ACQUISITIONS))
    if n is not None and n < 1:
        raise UsageError(f"n must be at least 1, got {n}.")
    proteins = list(proteins or ensemble.controls)
    unknown = [p for p in proteins if p not in ensemble.controls]
    if unknown:
        raise UsageError(unknown_message("protein", unknown, ensemble.controls))
    times = iv.model_times(ensemble, iv.data_grid(dataset))
    trajectories = iv.strain_trajectories(dataset, strain, times)
    train = iv.trajectories_on_grid(dataset, ensemble.train_strains, times)
    region = trust_region(train, max_fold)
    peaks = pd.Series(trajectories.u[0].max(axis=0), index=list(trajectories.controls))
    designs = [d for d in candidate_designs(proteins, max_fold, levels=levels, n_random=n_random, seed=seed,
                                            factors=factors) if inside_region(d, peaks, region)]
    if not designs:
        ratio = (peaks[proteins] / region.loc[proteins, "high"] * max_fold).round(1)
        raise UsageError(
            f"Empty trust region: no candidate design of strain {strain!r} keeps the proteins it changes within "
            f"{max_fold:g}-fold of the training strains' peak levels; {strain}'s own peaks are "
            + ", ".join(f"{p} {r:g}x" for p, r in ratio.items())
            + " the highest training peak. Raise --max-fold (max_fold=) above these, or recommend for a strain "
              "closer to the training strains.")
    product = dataset.product or dataset.states[-1]
    result = iv.simulate_interventions(ensemble, trajectories, designs, strain=strain, product=product,
                                       control_range=iv.training_range(train), calibration=calibration)
    ranked = _ranked(result, proteins, region, calibration, rule, n,
                     settings={"max_fold": max_fold, "levels": levels, "n_random": n_random, "seed": seed,
                               "candidates": len(designs), "members": len(ensemble),
                               "forced": bool(force and calibration is not None and not calibration.calibrated)})
    when, value = dataset.measurements(strain, product) if product in dataset.variables else ([], [])
    if len(when):
        ranked.measured = {"time": float(when[-1]), "titer": float(value[-1])}
    return ranked


def _ranked(result: iv.InterventionResult, proteins, region, calibration, rule, n, settings) -> Recommendation:
    """The :class:`Recommendation` of simulated designs (``result``; scenario 0 is unmodified)."""
    from nodebio.calibration import FLOOR, log_values, member_summary

    table = result.table(ranked=False)
    folds = np.where(np.isfinite(result.fold_changes), result.fold_changes, 0.0)
    if calibration is not None:
        mean, sigma = calibration.log_sigma(folds, "fold_change")
    else:
        mean, sigma = member_summary(log_values(folds, 1.0), FLOOR)
    table["acquisition"] = acquisition(mean, sigma, table["fold_change_high"].to_numpy(), rule)
    factors = result.factors()
    for p in proteins:
        table[p] = factors[p] if p in factors else 1.0
    unmodified = table.iloc[0][["titer_mean", "titer_low", "titer_high"]].to_dict()
    table["fold_change"] = np.exp(mean)  # the center of the log-normal: the intervals are around it
    table = table.iloc[1:].rename(columns={"intervention": "design"})
    table["proteins"] = table["protein"].str.count(", ") + 1
    table = table.sort_values("acquisition", ascending=False, kind="stable").reset_index(drop=True)
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    columns = ["rank", "design", "proteins", "titer_mean", "titer_low", "titer_high", "fold_change",
               "fold_change_low", "fold_change_high", "acquisition", "extrapolation", "extrapolated_proteins",
               "interval", *proteins]
    table = table[columns]
    titers = ["titer_mean", "titer_low", "titer_high"]
    clipped = int((table[titers] < 0).sum().sum()) + sum(v < 0 for v in unmodified.values())
    table[titers] = table[titers].clip(lower=0.0)
    unmodified = {k: max(float(v), 0.0) for k, v in unmodified.items()}
    settings = {**settings, "clipped": clipped}
    return Recommendation(table=table if n is None else table.head(n), strain=result.strain, product=result.product,
                          rule=rule, interval=result.interval_name, unmodified=unmodified, region=region,
                          settings=settings)


def recommend_run(paths: str | Path | Sequence[str | Path], strain: str, *, n: int = 10, max_fold: float = 4.0,
                  proteins: Sequence[str] | None = None, rule: str = "ei", calibrate: bool = True,
                  factors: Sequence[float] | None = None,
                  out: str | Path | None = None, device: str = "cpu", data_dir=None,
                  dataset: _data.Dataset | None = None, seed: int = 0, progress: bool = False,
                  force: bool = False) -> Recommendation:
    """:func:`recommend` for the models of run folders (``nodebio recommend``): the run's data
    (or ``dataset``, checked against it), a calibration by inner leave-one-strain-out refits of the
    run's model with its options (``calibrate``; the members' range otherwise), the table and
    figure written into ``out`` when given. Too few training strains for a calibrated interval
    is refused before any refit unless ``force`` (:func:`recommend`)."""
    from dataclasses import asdict

    from nodebio import calibration as _calibration
    from nodebio import runs
    from nodebio.calibration import score_counts, too_few_scores
    from nodebio.models.ensemble import Ensemble

    paths = [Path(p) for p in ([paths] if isinstance(paths, (str, Path)) else paths)]
    candidate_designs(["protein"], max_fold, factors=factors, n_random=0, pairs=False)  # the settings, before any work
    if out is not None:
        runs.check_output_folder(out)
        for path in recommendation_paths(out, strain):
            runs.check_output_file(path, paths)
    ensemble = Ensemble.load(paths, device=device)
    dataset = runs.run_dataset(paths, ensemble, data_dir=data_dir, dataset=dataset)
    if strain not in dataset.strains:
        raise _data.DataValidationError(unknown_message("strain", [strain], dataset.strains))
    calibration = None
    short = too_few_scores(score_counts(len(ensemble.train_strains))) if calibrate else None
    if short and not force:
        raise UncalibratedIntervalsError(short)
    if calibrate:
        first = ensemble.members[0]
        folder = paths[0] if paths[0].is_dir() else paths[0].parent
        name = runs.read_run(folder).model if (folder / runs.RUN_FILE).is_file() else (
            "node-structured" if first.config.structure == "structured" else "node")
        options = {k: v for k, v in asdict(first.config).items() if k not in ("seed", "device")}
        if first.reactions is not None:
            options["reactions"] = first.reactions
        calibration = _calibration.calibrate(dataset, ensemble.train_strains, model=name, members=len(ensemble),
                                             seed=first.config.seed, product=dataset.product, device=device,
                                             progress=progress, **options)
    result = recommend(ensemble, dataset, strain, n=n, max_fold=max_fold, proteins=proteins,
                       calibration=calibration, rule=rule, seed=seed, factors=factors, force=force)
    if out is not None:
        result.settings["files"] = [str(p) for p in result.save(out, n=n)]
    return result
