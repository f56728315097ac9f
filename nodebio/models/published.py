"""The 2018 pipeline's own choices of data handling, as its public code and its stored run make them.

- :func:`published_resample`: gaps filled and the grid built by pandas' interpolation by row
  position (their ``read_timeseries_data`` and ``augment_data``), which ignores the hours between rows.
- :data:`PUBLISHED_FEATURES`: the hand-picked inputs of each metabolite's regressor in the run whose
  result the paper quotes; the measured series among them that are not states or controls
  (OD600, ATP, NAD(P), pyruvate, citrate, GPP) are **taken from the strain being simulated**,
  held-out strain included; :func:`load_covariates` reads them;
  :func:`published_feature_resample` puts states, controls and covariates on their grid.

:class:`nodebio.models.baseline.DerivativeRegressionModel` uses them in its ``"published"`` and
``"published-features"`` configurations.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
import pandas as pd

from nodebio import data as _data
from nodebio.errors import unknown_message

__all__ = ["published_resample", "PUBLISHED_FEATURES", "PUBLISHED_COVARIATES", "published_states", "load_covariates",
           "published_feature_resample"]


def published_resample(dataset: _data.Dataset, n_points: int = 200) -> _data.Trajectories:
    """Gap filling and grid as in the public code of Costello & Garcia Martin (2018).

    Within each strain: pandas' linear interpolation by row position fills the gaps (values
    after the last measurement repeat it); then the even grid's times are merged with the
    sampling times and interpolated by row position again, and the sampling times not on the
    grid are dropped. Row-position interpolation treats consecutive rows as equally far apart in
    time whatever their hours, which is where this differs from :func:`nodebio.data.resample`.

    Their code puts each strain on an even grid over its own span; a :class:`nodebio.data.Trajectories`
    has one time axis, so the grid spans all strains (the same as theirs when the strains share their
    first and last sampling times, as in the Costello data), and each strain's values are taken at
    those times: a strain sampled over a shorter span repeats its last value after it (as the
    interpolation does) and its first value before it.
    """
    variables = list(dataset.variables)
    frames = {}
    for strain in dataset.strains:
        rows = dataset.strain_table(strain)
        mask = dataset.mask[dataset.table["strain"] == strain].reset_index(drop=True)
        frame = rows[variables].where(mask[variables]).set_index(rows["time"].astype(float))
        frames[strain] = frame.interpolate()  # by position, as in their read_timeseries_data
    grid = _common_grid(frames.values(), n_points)
    xs, us = [], []
    for frame in frames.values():
        on_grid = _on_grid(frame, grid).to_numpy(dtype=float)
        xs.append(on_grid[:, [variables.index(s) for s in dataset.states]])
        us.append(on_grid[:, [variables.index(c) for c in dataset.controls]])
    return _data.Trajectories(
        strains=dataset.strains, times=grid, x=np.stack(xs), u=np.stack(us), states=dataset.states,
        controls=dataset.controls, measured=dataset.to_long(measured_only=True), units=dict(dataset.units))


#: The hand-picked inputs of each metabolite's regressor in the run whose result the paper quotes
#: (``notebooks/KineticLearningFilled.ipynb`` of JBEI/KineticLearning, before its removal in
#: commit 5b6419d), in the pathway tables' names (theirs: 'Intracellular Mevalonate (uM)' is
#: Mevalonate, 'ATP (uM)' is ATP, ...), in their order. The notebook's automatic selection (RFECV)
#: never ran: it is guarded by ``feature_selection == 'automatic'`` while the flag is
#: ``'Automatic'``. Mevalonate's list has neither HMGS nor HMGR, the enzymes that make it; the
#: product's lists have Idi/GPPS for neither pathway. The keys are their simulated states: for
#: isopentenol this includes Mev-P, which nodebio's default states leave out (:func:`published_states`).
_UPPER_FEATURES = {
    "Acetyl-CoA": ("OD600", "ATP", "AtoB", "HMGR", "HMGS", "Acetyl-CoA", "HMG-CoA", "Pyruvate", "citrate"),
    "HMG-CoA": ("OD600", "HMG-CoA", "HMGR", "MK", "Mev-P", "Mevalonate", "NAD", "NADP"),
    "Mevalonate": ("OD600", "ATP", "Mevalonate", "MK", "PMK", "Mev-P"),
    "Mev-P": ("OD600", "ATP", "PMD", "Mev-P", "Mevalonate", "IPP/DMAPP"),
}
PUBLISHED_FEATURES: dict[str, dict[str, tuple[str, ...]]] = {
    "limonene": {**_UPPER_FEATURES,
                 "IPP/DMAPP": ("OD600", "ATP", "IPP/DMAPP", "Limonene Synthase", "Limonene"),
                 "Limonene": ("OD600", "ATP", "Limonene Synthase", "Limonene", "GPP")},
    "isopentenol": {**_UPPER_FEATURES,
                    "IPP/DMAPP": ("OD600", "ATP", "IPP/DMAPP", "NudB", "Isopentenol"),
                    "Isopentenol": ("OD600", "ATP", "NudB", "Isopentenol", "IPP/DMAPP")},
}

#: The measured series in :data:`PUBLISHED_FEATURES` that are neither states nor enzymes: inputs
#: interpolated from the measurements of the strain being simulated (the held-out one included).
PUBLISHED_COVARIATES: tuple[str, ...] = ("OD600", "ATP", "NAD", "NADP", "Pyruvate", "citrate", "GPP")

#: Covariates absent from the pathway tables, read from the raw metabolomics table: name -> its column.
_METABOLOMICS_FILE = "time_series_metabolomics.csv"
_METABOLOMICS_COLUMNS = {"ATP": "ATP (uM)"}


def published_states(pathway: str) -> tuple[str, ...]:
    """The states their feature lists simulate (``data.load(pathway, states=...)``)."""
    if pathway not in PUBLISHED_FEATURES:
        raise _data.DataValidationError(unknown_message("pathway", [pathway], list(PUBLISHED_FEATURES)))
    return tuple(PUBLISHED_FEATURES[pathway])


def load_covariates(pathway: str, columns: Sequence[str] = PUBLISHED_COVARIATES, *,
                    data_dir=None) -> pd.DataFrame:
    """Measured series that are neither states nor controls, one row per row of the pathway table.

    Columns ``strain``, ``time`` (h), then ``columns``; NaN where not measured. Every row of the
    pathway table is kept, including those without pathway values (2, 6, 10, 16, 20 h). Columns
    absent from the pathway table are read from the raw metabolomics table
    (:data:`_METABOLOMICS_COLUMNS`, e.g. ATP) and matched by strain and hour. Both files are
    hash-checked by :func:`nodebio.data.fetch`.
    """
    if pathway not in _data.PATHWAYS:
        raise _data.DataValidationError(unknown_message("pathway", [pathway], list(_data.PATHWAYS)))
    spec = _data.PATHWAYS[pathway]
    table = _data.read_raw(spec.file, data_dir=data_dir)
    out = pd.DataFrame({"strain": table[spec.strain_col].astype(str), "time": table[spec.time_col].astype(float)})
    raw = None
    for column in columns:
        if column in table.columns:
            out[column] = pd.to_numeric(table[column], errors="raise").astype(float)
        elif column in _METABOLOMICS_COLUMNS:
            if raw is None:
                raw = _data.read_raw(_METABOLOMICS_FILE, data_dir=data_dir)
                raw = raw.assign(strain=raw["Strain"].astype(str), time=raw["Hour"].astype(float))
            source = raw[["strain", "time", _METABOLOMICS_COLUMNS[column]]].rename(
                columns={_METABOLOMICS_COLUMNS[column]: column})
            out = out.merge(source, on=["strain", "time"], how="left", validate="one_to_one")
        else:
            raise _data.DataValidationError(
                f"Covariate column {column!r} is in neither the {pathway} table ({spec.file}) nor the raw "
                f"metabolomics table (known there: {', '.join(_METABOLOMICS_COLUMNS)}).")
    return out


def _common_grid(frames, n_points: int) -> np.ndarray:
    """The even grid of ``n_points`` over the span of every strain's sampling times."""
    starts = [float(f.index.min()) for f in frames]
    ends = [float(f.index.max()) for f in frames]
    return np.linspace(min(starts), max(ends), n_points)


def _on_grid(frame: pd.DataFrame, grid: np.ndarray) -> pd.DataFrame:
    """Their ``augment_data``: the grid's times merged with the sampling times, interpolated by
    row position, cut to the grid; before a series' first value, that value."""
    times = frame.index.to_numpy(dtype=float)
    union = frame.reindex(frame.index.union(pd.Index(grid))).interpolate()
    return union.loc[~union.index.isin(set(times) - set(grid))].bfill()


def published_feature_resample(dataset: _data.Dataset, covariates: pd.DataFrame,
                               n_points: int = 200) -> tuple[_data.Trajectories, np.ndarray]:
    """The published grid (:func:`published_resample`) with covariates: (trajectories, w).

    ``covariates``: columns ``strain``, ``time`` and one per covariate (:func:`load_covariates`).
    Per strain, the dataset's measured values and the covariates are joined on time (rows present
    in either are kept: the pathway table's acetate-only rows come in with the covariates), filled
    by pandas' row-position interpolation, merged with the even grid, interpolated by position
    again, and cut to the grid. Values before a series' first measurement take that measurement.
    w : (S, T, n_covariates), the covariates on the grid, in the order of their columns.
    """
    names = [c for c in covariates.columns if c not in ("strain", "time")]
    clash = sorted(set(names) & set(dataset.variables))
    if clash:
        raise _data.DataValidationError(f"Covariates {', '.join(map(repr, clash))} are also states or controls.")
    variables = list(dataset.variables)
    frames = {}
    for strain in dataset.strains:
        rows = dataset.strain_table(strain)
        mask = dataset.mask[dataset.table["strain"] == strain].reset_index(drop=True)
        frame = rows[variables].where(mask[variables]).set_index(rows["time"].astype(float))
        extra = covariates[covariates["strain"].astype(str) == str(strain)]
        if extra.empty:
            raise _data.DataValidationError(
                f"No covariate rows for strain {strain!r}: the inputs {', '.join(names)} are the measured "
                "series of the strain being simulated and must be given for every strain.")
        extra = extra.set_index(extra["time"].astype(float))[names]
        frame = frame.join(extra, how="outer").sort_index()
        frames[strain] = frame.interpolate()  # by position, as in their read_timeseries_data
    grid = _common_grid(frames.values(), n_points)  # one grid over every strain's span
    xs, us, ws = [], [], []
    for strain, frame in frames.items():
        union = _on_grid(frame, grid)  # their augment_data
        empty = [c for c in names if union[c].isna().all()]
        if empty:
            raise _data.DataValidationError(f"Strain {strain!r} has no values of covariate(s) {', '.join(empty)}.")
        xs.append(union[list(dataset.states)].to_numpy(dtype=float))
        us.append(union[list(dataset.controls)].to_numpy(dtype=float))
        ws.append(union[names].to_numpy(dtype=float))
    trajectories = _data.Trajectories(
        strains=dataset.strains, times=grid, x=np.stack(xs), u=np.stack(us), states=dataset.states,
        controls=dataset.controls, measured=dataset.to_long(measured_only=True), units=dict(dataset.units))
    return trajectories, np.stack(ws)
