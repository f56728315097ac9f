"""A validated time-series table of strains (:class:`Dataset`) and the two pathway tables' layout.

A :class:`Dataset` holds one row per (strain, sampling time), one column per state (metabolite)
and control (protein), in original units, with the mask of measured values. It is made by
:mod:`nodebio.data.loading` (:func:`~nodebio.data.load`, :func:`~nodebio.data.load_csv`,
:func:`~nodebio.data.from_frame`), which validate the input.

Rule for rows without pathway measurements: a row that carries no value in any of the selected
state or control columns (in the pathway tables, the 2, 6, 10, 16 and 20 h samples, which hold only
extracellular acetate and pyruvate) is not a sampling time of the pathway. It is moved to
:attr:`Dataset.excluded_rows`, counted in the dataset's summary, and never silently lost.

:data:`PATHWAYS` describes the two pathway tables (states, controls, product, strains and the
paper's split); :data:`UNITS` the units of their columns.
"""

from __future__ import annotations

import warnings

from dataclasses import dataclass, field, replace
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from nodebio.errors import DataValidationError, unknown_message

__all__ = ["PROTEIN_UNIT", "UNITS", "PathwaySpec", "PATHWAYS", "Dataset", "identical_series"]

PROTEIN_UNIT = "peak area (a.u.)"

#: Units of the columns of the two pathway tables, checked against the headers of the raw
#: metabolomics file (intracellular metabolites in uM, extracellular ones in g/L).
UNITS: dict[str, str] = {
    **{
        p: PROTEIN_UNIT
        for p in [
            "AtoB", "GPPS", "HMGR", "HMGS", "Idi", "Limonene Synthase", "MK", "NudB", "PMD", "PMK",
        ]
    },
    **{
        m: "µM"
        for m in ["Acetyl-CoA", "HMG-CoA", "Mevalonate", "Mev-P", "IPP/DMAPP", "GPP", "NAD", "NADP",
                  "citrate"]
    },
    "Limonene": "g/L",
    "Isopentenol": "g/L",
    "Acetate": "g/L",
    "Pyruvate": "g/L",
    "OD600": "OD600 (dimensionless)",
}


@dataclass(frozen=True)
class PathwaySpec:
    """What a pathway table holds and how the book uses it.

    ``strains`` are ordered low, medium, high producer; ``train``/``test`` is the paper's split.
    """

    name: str
    file: str
    states: tuple[str, ...]
    controls: tuple[str, ...]
    product: str
    strains: tuple[str, ...]
    train: tuple[str, ...]
    test: tuple[str, ...]
    time_col: str = "Hour"
    strain_col: str = "Strain"


_PATHWAY_ENZYMES = ("AtoB", "HMGS", "HMGR", "MK", "PMK", "PMD")
_PATHWAY_METABOLITES = ("Acetyl-CoA", "HMG-CoA", "Mevalonate", "Mev-P", "IPP/DMAPP")

#: The two pathways of the study. Controls are the enzymes each strain expresses: in the
#: isopentenol strains Idi, GPPS and limonene synthase stay at background level (peak areas of
#: about 1e3, against 1e5-1e7 for the expressed enzymes), and so does NudB in the limonene strains.
#: States are the measured pathway metabolites and the product, except series that the source
#: table copies from one strain to another (:func:`identical_series`): GPP of L1 and L2, and Mev-P
#: of I2 and I3 (the held-out strain would be scored on a training strain's values). Pass
#: ``states=`` to :func:`load` to use them anyway.
PATHWAYS: dict[str, PathwaySpec] = {
    "limonene": PathwaySpec(
        name="limonene",
        file="limonene_data.csv",
        states=_PATHWAY_METABOLITES + ("Limonene",),
        controls=_PATHWAY_ENZYMES + ("Idi", "GPPS", "Limonene Synthase"),
        product="Limonene",
        strains=("L1", "L2", "L3"),
        train=("L1", "L3"),
        test=("L2",),
    ),
    "isopentenol": PathwaySpec(
        name="isopentenol",
        file="isopentenol_data.csv",
        states=("Acetyl-CoA", "HMG-CoA", "Mevalonate", "IPP/DMAPP", "Isopentenol"),
        controls=_PATHWAY_ENZYMES + ("NudB",),
        product="Isopentenol",
        strains=("I1", "I2", "I3"),
        train=("I1", "I3"),
        test=("I2",),
    ),
}



@dataclass
class Dataset:
    """A validated time-series table of one or more strains.

    Attributes
    ----------
    table : DataFrame with columns ``strain``, ``time`` (hours), then the controls, then the
        states, in original units; one row per (strain, sampling time), sorted; NaN where a value
        was not measured (before :func:`impute`).
    mask : boolean DataFrame, same index as ``table``, one column per control and state: True
        where the value was measured, False where it is missing or was filled. (Its former name,
        ``measured``, still works and warns: :attr:`nodebio.data.Trajectories.measured` is a
        table of measured *values*, this is a mask.)
    states, controls : names of the state (metabolite) and control (protein) columns.
    units : unit of each column where known (a column without an entry has unknown units).
    excluded_rows : the input rows with no value in any state or control column, as they were
        read, with their line (CSV) or row label; they are not sampling times of the pathway.
    ignored_columns : input columns that are neither strain, time, state nor control.
    filled : True once :func:`impute` has filled the gaps.
    """

    table: pd.DataFrame
    mask: pd.DataFrame
    states: tuple[str, ...]
    controls: tuple[str, ...]
    units: dict[str, str] = field(default_factory=dict)
    name: str = "dataset"
    source: str | None = None
    sha256: str | None = None
    product: str | None = None
    excluded_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    ignored_columns: tuple[str, ...] = ()
    filled: bool = False
    time_unit: str = "h"
    #: the unit the time column was given in (converted to hours at load)
    input_time_unit: str = "h"

    @property
    def measured(self) -> pd.DataFrame:
        """Former name of :attr:`mask` (deprecated: ``Trajectories.measured`` holds values)."""
        warnings.warn("Dataset.measured is now Dataset.mask (a mask of measured values); "
                      "Trajectories.measured is the table of the values themselves.", DeprecationWarning,
                      stacklevel=2)
        return self.mask

    @property
    def strains(self) -> tuple[str, ...]:
        """Strain names in the order of the input."""
        return tuple(pd.unique(self.table["strain"]))

    @property
    def variables(self) -> tuple[str, ...]:
        """Controls then states."""
        return self.controls + self.states

    def unit(self, column: str) -> str:
        """Unit of a column, ``"?"`` when unknown."""
        return self.units.get(column, "?")

    def label(self, column: str) -> str:
        """Axis label of a column, e.g. ``"Mevalonate (µM)"``."""
        unit = self.units.get(column)
        return f"{column} ({unit})" if unit else column

    def strain_table(self, strain: str) -> pd.DataFrame:
        """The rows of one strain."""
        self._check_strains([strain])
        return self.table[self.table["strain"] == strain].reset_index(drop=True)

    def times(self, strain: str) -> np.ndarray:
        """Sampling times of one strain, in hours."""
        return self.strain_table(strain)["time"].to_numpy(dtype=float)

    def measurements(self, strain: str, variable: str) -> tuple[np.ndarray, np.ndarray]:
        """(times, values) of the measured values of one variable of one strain."""
        self._check_strains([strain])
        if variable not in self.variables:
            raise DataValidationError(unknown_message("variable", [variable], self.variables))
        rows = (self.table["strain"] == strain) & self.mask[variable]
        return (
            self.table.loc[rows, "time"].to_numpy(dtype=float),
            self.table.loc[rows, variable].to_numpy(dtype=float),
        )

    def subset(self, strains: Iterable[str]) -> "Dataset":
        """The dataset restricted to some strains (in the given order)."""
        strains = list(strains)
        self._check_strains(strains)
        groups = self.table.groupby("strain", sort=False).indices
        index = np.concatenate([groups[s] for s in strains])
        return replace(
            self,
            table=self.table.iloc[index].reset_index(drop=True),
            mask=self.mask.iloc[index].reset_index(drop=True),
            excluded_rows=(
                self.excluded_rows[self.excluded_rows["strain"].isin(strains)]
                if len(self.excluded_rows)
                else self.excluded_rows
            ),
        )

    def to_long(self, measured_only: bool = True) -> pd.DataFrame:
        """Tidy long table: ``strain, time, variable, kind, value, measured``.

        ``kind`` is ``"state"`` or ``"control"``. With ``measured_only`` (default) the filled or
        missing values are left out.
        """
        values = self.table.melt(
            id_vars=["strain", "time"], value_vars=list(self.variables), var_name="variable"
        )
        flags = pd.concat([self.table[["strain", "time"]], self.mask], axis=1).melt(
            id_vars=["strain", "time"], value_vars=list(self.variables), value_name="measured"
        )
        values["measured"] = flags["measured"].to_numpy(dtype=bool)
        kinds = {c: "control" for c in self.controls} | {s: "state" for s in self.states}
        values.insert(3, "kind", values["variable"].map(kinds))
        if measured_only:
            values = values[values["measured"]].reset_index(drop=True)
        return values

    def summary(self) -> pd.DataFrame:
        """Number of measured values of each variable (rows) for each strain (columns)."""
        counts = self.mask.groupby(self.table["strain"], sort=False).sum().T
        counts.loc["sampling times"] = self.table.groupby("strain", sort=False).size()
        return counts.astype(int)

    def _check_strains(self, strains: Sequence[str]) -> None:
        known = set(self.strains)
        unknown = [s for s in strains if s not in known]
        if unknown:
            raise DataValidationError(unknown_message("strain", unknown, self.strains))

    def __repr__(self) -> str:
        per_strain = self.table.groupby("strain", sort=False)["time"]
        lines = [
            f"Dataset {self.name!r}: {len(self.strains)} strains, {len(self.states)} states, "
            f"{len(self.controls)} controls" + (" (gaps filled)" if self.filled else ""),
            "  strains:  " + ", ".join(
                f"{s} ({n} times, {t.min():g}-{t.max():g} {self.time_unit})"
                for s, n, t in zip(self.strains, per_strain.size(), [g for _, g in per_strain])
            ),
            "  states:   " + ", ".join(self.label(s) for s in self.states),
            "  controls: " + ", ".join(self.label(c) for c in self.controls),
        ]
        total = self.mask.size
        lines.append(
            f"  measured: {int(self.mask.to_numpy().sum())} of {total} values "
            f"({100.0 * self.mask.to_numpy().mean():.0f}%)"
        )
        if len(self.excluded_rows):
            times = sorted(pd.unique(self.excluded_rows["time"]))
            lines.append(
                f"  excluded: {len(self.excluded_rows)} rows with no state or control value "
                f"(times {', '.join(f'{t:g}' for t in times)} {self.time_unit}); see .excluded_rows"
            )
        copies = identical_series(self)
        for row in copies.itertuples():
            lines.append(f"  warning:  {row.variable} is identical in {row.strain_a} and {row.strain_b} "
                         f"({row.points} measured times): a copy in the source table?")
        if self.ignored_columns:
            lines.append(f"  ignored columns: {', '.join(self.ignored_columns)}")
        if self.source:
            lines.append(f"  source:   {self.source}" + (f" (sha256 {self.sha256[:12]}…)" if self.sha256 else ""))
        return "\n".join(lines)


def identical_series(dataset: Dataset, min_points: int = 3) -> pd.DataFrame:
    """Variables whose measured values are identical in two strains (a copy in the source table).

    Returns one row per (variable, strain_a, strain_b) with at least ``min_points`` common
    measured times, all equal, and not all zero: ``variable, strain_a, strain_b, points``.
    Each variable is one matrix of strains x shared sampling times, each strain compared with
    all later strains at once (a table of 500 strains takes seconds).
    """
    rows = []
    strains = list(dataset.strains)
    table = dataset.table
    for variable in dataset.variables:
        measured = dataset.mask[variable].to_numpy(dtype=bool)
        points = pd.DataFrame({"strain": table["strain"].to_numpy()[measured],
                               "time": table["time"].to_numpy()[measured],
                               "value": table[variable].to_numpy(dtype=float)[measured]})
        shared = points.groupby("time")["strain"].transform("size") > 1  # a time only one strain has
        matrix = points[shared].pivot(index="strain", columns="time", values="value").reindex(strains)
        values = matrix.to_numpy(dtype=float)
        present = ~np.isnan(values)
        for i in range(len(strains) - 1):
            both = present[i] & present[i + 1:]
            common = both.sum(axis=1)
            equal = ((values[i] == values[i + 1:]) | ~both).all(axis=1)
            nonzero = (np.abs(np.where(both, values[i], 0.0)).sum(axis=1)) > 0
            for k in np.flatnonzero((common >= min_points) & equal & nonzero):
                rows.append({"variable": variable, "strain_a": strains[i], "strain_b": strains[i + 1 + k],
                             "points": int(common[k])})
    return pd.DataFrame(rows, columns=["variable", "strain_a", "strain_b", "points"])
