"""The data: a verified download of Costello & Garcia Martin (2018), validated loading, preprocessing.

Files
-----
The four files of the study are listed in :data:`REGISTRY` with their public URL at a pinned
commit of the authors' repository and their sha256. :func:`fetch` returns the local path of a
file, downloading it with pooch only when it is missing; a file that is present with the right
hash is used as it is and nothing is written. The folder is :func:`default_data_dir`: the
environment variable ``NODEBIO_DATA_DIR`` when set, else a per-user cache folder.

The data are for academic and personal use only (the license of the source repository forbids
commercial use); nodebio downloads them from their source and never redistributes them.

Tables
------
:func:`load` reads a pathway table (``"limonene"`` or ``"isopentenol"``), :func:`load_csv` any tidy
CSV of the same shape and :func:`from_frame` a pandas DataFrame: one row per (strain, time), one
column per state (metabolite) and control (protein). All three validate the input and return a
:class:`Dataset`.

Rule for rows without pathway measurements: a row that carries no value in any of the selected
state or control columns (in the pathway tables, the 2, 6, 10, 16 and 20 h samples, which hold only
extracellular acetate and pyruvate) is not a sampling time of the pathway. It is moved to
:attr:`Dataset.excluded_rows`, counted in the dataset's summary, and never silently lost.

Preprocessing
-------------
Each step is a function, applied in this order by :func:`prepare`:

1. :func:`impute`: fill the gaps of each strain by linear interpolation in time between that
   strain's own measurements (values before the first or after the last measurement are held
   at the nearest measured value). The mask of measured values is kept.
2. :func:`resample`: interpolate each strain onto one even time grid (200 points by default,
   as in the paper) -> :class:`Trajectories` arrays of shape (strains, times, features).
3. :func:`split`: split by strain (defaults: train L1+L3 / test L2, train I1+I3 / test I2).
4. :class:`Scaler`: per-feature scaling fitted on the training strains only (``"standardize"``,
   ``"log1p"`` or ``"none"``), with an exact inverse.

Pathway structure
-----------------
:data:`REACTIONS` lists the reactions of each pathway as data (:class:`Reaction`: substrates and
products with their coefficients, catalysing enzymes, lumped intermediates);
:func:`stoichiometry` turns a list into the matrix S (states x reactions) for given states and
controls, and names any state or enzyme a reaction needs that the data lack.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

__all__ = [
    "SOURCE_REPOSITORY",
    "SOURCE_COMMIT",
    "BASE_URL",
    "LICENSE_NOTE",
    "DATA_DIR_ENV",
    "REGISTRY",
    "PATHWAYS",
    "DataFile",
    "PathwaySpec",
    "DataError",
    "DataIntegrityError",
    "DataDownloadError",
    "DataValidationError",
    "default_data_dir",
    "file_sha256",
    "fetch",
    "fetch_all",
    "read_raw",
    "Dataset",
    "load",
    "load_csv",
    "identical_series",
    "from_frame",
    "impute",
    "resample",
    "split",
    "Scaler",
    "Trajectories",
    "PreparedData",
    "prepare",
    "Reaction",
    "REACTIONS",
    "reactions_for",
    "stoichiometry",
]

# ---------------------------------------------------------------------------------------------
# Registry and download
# ---------------------------------------------------------------------------------------------

SOURCE_REPOSITORY = "JBEI/KineticLearning"
SOURCE_COMMIT = "c34249105c43dc4b7889bee7ebb82531f3e89fb5"
BASE_URL = f"https://raw.githubusercontent.com/{SOURCE_REPOSITORY}/{SOURCE_COMMIT}/data/"
DATA_DIR_ENV = "NODEBIO_DATA_DIR"
LICENSE_NOTE = (
    "The Costello & Garcia Martin (2018) data come from the public repository "
    f"{SOURCE_REPOSITORY} (commit {SOURCE_COMMIT[:7]}), whose license allows academic and "
    "personal use and forbids commercial use. nodebio downloads them from there and never "
    "redistributes them."
)


@dataclass(frozen=True)
class DataFile:
    """One file of the study: its name, sha256, size in bytes and what it holds."""

    name: str
    sha256: str
    size: int
    description: str

    def url(self, base_url: str = BASE_URL) -> str:
        return base_url.rstrip("/") + "/" + self.name


REGISTRY: dict[str, DataFile] = {
    f.name: f
    for f in [
        DataFile(
            "limonene_data.csv",
            "7f4aba66c73d18ddc5eb8fe86356b13252866bfa482f5a4248f31bd17a81acd3",
            7649,
            "limonene pathway table: strains L1 (low), L2 (medium), L3 (high producer), 0-72 h",
        ),
        DataFile(
            "isopentenol_data.csv",
            "0efaa21f1f74381fb5f2167f61bcd601e8089eabb6f42859d66f273e60f3bac7",
            7231,
            "isopentenol pathway table: strains I1 (low), I2 (medium), I3 (high producer), 0-72 h",
        ),
        DataFile(
            "time_series_metabolomics.csv",
            "a787139d9b7e2e0c00f5153fbe95c0e7fb054ae19347a00b74b7b08124cbfdd3",
            61017,
            "raw metabolomics of all strains, about 90 metabolites",
        ),
        DataFile(
            "time_series_proteomics.csv",
            "40f323aad1f6d499e9cd785da47b6086042d9e4154b9bb7946e45253b89e111d",
            2030322,
            "raw targeted proteomics of all strains, peptide level, 79 proteins",
        ),
    ]
}


class DataError(Exception):
    """Base class of the data layer's errors."""


class DataIntegrityError(DataError, ValueError):
    """A file does not have the sha256 of the registry."""


class DataDownloadError(DataError, RuntimeError):
    """A file could not be downloaded."""


class DataValidationError(DataError, ValueError):
    """A table is malformed; the message names the column or row and how to fix it."""


def default_data_dir() -> Path:
    """The folder the data files are read from and downloaded to.

    ``$NODEBIO_DATA_DIR`` when set, else the per-user cache folder of the platform
    (``~/.cache/nodebio/costello2018`` on Linux).
    """
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("nodebio")) / "costello2018"


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 hex digest of a file."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _how_to_place(entry: DataFile, folder: Path, base_url: str) -> str:
    return (
        f"To place it by hand, download {entry.url(base_url)} and save it as {folder / entry.name} "
        f"(or point ${DATA_DIR_ENV} at a folder that holds it); its sha256 must be {entry.sha256}."
    )


def fetch(
    name: str,
    *,
    data_dir: str | os.PathLike | None = None,
    base_url: str = BASE_URL,
    progress: bool = False,
) -> Path:
    """Return the local path of a registered file, downloading it if it is missing.

    Parameters
    ----------
    name : a key of :data:`REGISTRY`, e.g. ``"limonene_data.csv"``.
    data_dir : folder of the files; :func:`default_data_dir` when None.
    base_url : where to download from (the pinned public source by default).
    progress : show a progress bar while downloading.

    A file that is present with the registered sha256 is used as it is: nothing is downloaded
    and nothing is written. A present file with another hash is refused (and left untouched):
    :class:`DataIntegrityError`. A download that fails or delivers the wrong bytes raises
    :class:`DataDownloadError` or :class:`DataIntegrityError` and leaves no partial file.
    """
    if name not in REGISTRY:
        raise DataError(
            f"{name!r} is not a registered data file; known files: {', '.join(REGISTRY)}."
        )
    entry = REGISTRY[name]
    folder = Path(data_dir).expanduser() if data_dir is not None else default_data_dir()
    path = folder / name
    url = entry.url(base_url)
    if path.exists():
        actual = file_sha256(path)
        if actual != entry.sha256:
            raise DataIntegrityError(
                f"{path} has sha256 {actual}, expected {entry.sha256} ({name} from {url}). "
                "The file is corrupted or is another version; it was left as it is. Delete it "
                "to download it again. " + _how_to_place(entry, folder, base_url)
            )
        return path

    import pooch
    import requests

    try:
        folder.mkdir(parents=True, exist_ok=True)
        downloaded = pooch.retrieve(
            url,
            known_hash=f"sha256:{entry.sha256}",
            fname=name,
            path=folder,
            progressbar=progress,
        )
    except ValueError as error:  # pooch's hash mismatch
        raise DataIntegrityError(
            f"The download of {name} from {url} does not have sha256 {entry.sha256} ({error}); "
            "nothing was saved. " + _how_to_place(entry, folder, base_url)
        ) from error
    except (requests.RequestException, OSError) as error:
        raise DataDownloadError(
            f"Could not download {name} from {url}: {error}. Check the network connection. "
            + _how_to_place(entry, folder, base_url)
        ) from error
    return Path(downloaded)


def fetch_all(**kwargs) -> dict[str, Path]:
    """Fetch every registered file; keyword arguments as for :func:`fetch`."""
    return {name: fetch(name, **kwargs) for name in REGISTRY}


def read_raw(name: str, **kwargs) -> pd.DataFrame:
    """Read a registered file as it is (no validation), e.g. the raw metabolomics table."""
    return pd.read_csv(fetch(name, **kwargs))


# ---------------------------------------------------------------------------------------------
# Pathway tables
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# Dataset
# ---------------------------------------------------------------------------------------------


@dataclass
class Dataset:
    """A validated time-series table of one or more strains.

    Attributes
    ----------
    table : DataFrame with columns ``strain``, ``time`` (hours), then the controls, then the
        states, in original units; one row per (strain, sampling time), sorted; NaN where a value
        was not measured (before :func:`impute`).
    measured : boolean DataFrame, same index as ``table``, one column per control and state:
        True where the value was measured, False where it is missing or was filled.
    states, controls : names of the state (metabolite) and control (protein) columns.
    units : unit of each column where known (a column without an entry has unknown units).
    excluded_rows : the input rows with no value in any state or control column, as they were
        read, with their line (CSV) or row label; they are not sampling times of the pathway.
    ignored_columns : input columns that are neither strain, time, state nor control.
    filled : True once :func:`impute` has filled the gaps.
    """

    table: pd.DataFrame
    measured: pd.DataFrame
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
            raise DataValidationError(_unknown_message("variable", [variable], self.variables))
        rows = (self.table["strain"] == strain) & self.measured[variable]
        return (
            self.table.loc[rows, "time"].to_numpy(dtype=float),
            self.table.loc[rows, variable].to_numpy(dtype=float),
        )

    def subset(self, strains: Iterable[str]) -> "Dataset":
        """The dataset restricted to some strains (in the given order)."""
        strains = list(strains)
        self._check_strains(strains)
        parts = [self.table.index[self.table["strain"] == s] for s in strains]
        index = parts[0].append(parts[1:]) if len(parts) > 1 else parts[0]
        return replace(
            self,
            table=self.table.loc[index].reset_index(drop=True),
            measured=self.measured.loc[index].reset_index(drop=True),
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
        flags = pd.concat([self.table[["strain", "time"]], self.measured], axis=1).melt(
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
        counts = self.measured.groupby(self.table["strain"], sort=False).sum().T
        counts.loc["sampling times"] = self.table.groupby("strain", sort=False).size()
        return counts.astype(int)

    def _check_strains(self, strains: Sequence[str]) -> None:
        unknown = [s for s in strains if s not in self.strains]
        if unknown:
            raise DataValidationError(_unknown_message("strain", unknown, self.strains))

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
        total = self.measured.size
        lines.append(
            f"  measured: {int(self.measured.to_numpy().sum())} of {total} values "
            f"({100.0 * self.measured.to_numpy().mean():.0f}%)"
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


def _unknown_message(what: str, unknown: Sequence[str], known: Sequence[str]) -> str:
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return (
        f"Unknown {what}{'s' if len(unknown) > 1 else ''}: {', '.join(parts)}. "
        f"Available: {', '.join(map(str, known))}."
    )


def identical_series(dataset: Dataset, min_points: int = 3) -> pd.DataFrame:
    """Variables whose measured values are identical in two strains (a copy in the source table).

    Returns one row per (variable, strain_a, strain_b) with at least ``min_points`` common
    measured times, all equal, and not all zero: ``variable, strain_a, strain_b, points``.
    """
    rows = []
    strains = dataset.strains
    for variable in dataset.variables:
        series = {}
        for strain in strains:
            t, v = dataset.measurements(strain, variable)
            series[strain] = dict(zip(t, v))
        for i, a in enumerate(strains):
            for b in strains[i + 1:]:
                common = sorted(set(series[a]) & set(series[b]))
                va = np.array([series[a][t] for t in common])
                vb = np.array([series[b][t] for t in common])
                if len(common) >= min_points and np.array_equal(va, vb) and np.abs(va).sum() > 0:
                    rows.append({"variable": variable, "strain_a": a, "strain_b": b, "points": len(common)})
    return pd.DataFrame(rows, columns=["variable", "strain_a", "strain_b", "points"])


def load(
    pathway: str,
    *,
    states: Sequence[str] | None = None,
    controls: Sequence[str] | None = None,
    data_dir: str | os.PathLike | None = None,
) -> Dataset:
    """Load a pathway table of Costello & Garcia Martin (2018).

    Parameters
    ----------
    pathway : ``"limonene"`` or ``"isopentenol"``.
    states, controls : columns to use; :data:`PATHWAYS` gives the defaults (the pathway
        metabolites and the product; the enzymes the strains express).
    data_dir : folder of the data files (see :func:`fetch`).
    """
    if pathway not in PATHWAYS:
        raise DataValidationError(_unknown_message("pathway", [pathway], list(PATHWAYS)))
    spec = PATHWAYS[pathway]
    path = fetch(spec.file, data_dir=data_dir)
    dataset = load_csv(
        path,
        states=list(states) if states is not None else list(spec.states),
        controls=list(controls) if controls is not None else list(spec.controls),
        time_col=spec.time_col,
        strain_col=spec.strain_col,
        units=UNITS,
        name=pathway,
    )
    dataset.sha256 = REGISTRY[spec.file].sha256
    dataset.product = spec.product if spec.product in dataset.states else None
    return dataset


def load_csv(
    path: str | os.PathLike,
    *,
    states: Sequence[str],
    controls: Sequence[str],
    time_col: str = "Hour",
    strain_col: str = "Strain",
    units: Mapping[str, str] | None = None,
    name: str | None = None,
    product: str | None = None,
) -> Dataset:
    """Load and validate a tidy CSV: one row per (strain, time), one column per variable.

    Error messages give the CSV line (the header is line 1) of the offending row.
    """
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"{path} does not exist or is not a file.")
    with open(path, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle), None)
    if not header:
        raise DataValidationError(
            f"{path} is empty: expected a header line with the columns {strain_col}, {time_col}, "
            "the controls and the states."
        )
    duplicated = sorted({c for c in header if header.count(c) > 1})
    if duplicated:
        raise DataValidationError(
            f"{path}: column{'s' if len(duplicated) > 1 else ''} {', '.join(map(repr, duplicated))} "
            "appear more than once in the header. Rename or remove the duplicates."
        )
    try:
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype={strain_col: str})
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        raise DataValidationError(
            f"{path} is not a well-formed CSV ({error}). Every line must have as many "
            "comma-separated fields as the header."
        ) from error
    frame.index = pd.RangeIndex(2, len(frame) + 2)
    dataset = from_frame(
        frame,
        states=states,
        controls=controls,
        time_col=time_col,
        strain_col=strain_col,
        units=units,
        name=name or path.stem,
        product=product,
        row_name="line",
        source=str(path),
    )
    dataset.sha256 = file_sha256(path)
    return dataset


def from_frame(
    frame: pd.DataFrame,
    *,
    states: Sequence[str],
    controls: Sequence[str],
    time_col: str = "Hour",
    strain_col: str = "Strain",
    units: Mapping[str, str] | None = None,
    name: str = "dataset",
    product: str | None = None,
    min_times: int = 3,
    row_name: str = "row",
    source: str | None = None,
) -> Dataset:
    """Validate a tidy DataFrame and build a :class:`Dataset`.

    Checks, each failing with a :class:`DataValidationError` that names the column or row:
    missing, duplicated or unknown columns; a column used both as state and control; missing or
    non-numeric strain or time values; non-numeric or infinite cells; negative values;
    duplicated (strain, time); time not increasing within a strain; a strain with fewer than
    ``min_times`` sampling times; a state or control with no value at all for a strain.
    Rows labelled by the frame's index (``row_name`` says what the label is, e.g. a CSV line).
    """
    states, controls = list(states), list(controls)
    where = f" in {source}" if source else ""

    if frame.columns.duplicated().any():
        duplicated = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise DataValidationError(
            f"Columns {', '.join(map(repr, duplicated))} appear more than once{where}. "
            "Rename or remove the duplicates."
        )
    if not states:
        raise DataValidationError("No state columns given: name at least one metabolite column.")
    both = sorted(set(states) & set(controls))
    if both:
        raise DataValidationError(
            f"{', '.join(map(repr, both))} listed both as state and as control; a column is one or "
            "the other."
        )
    for role, names in (("state", states), ("control", controls)):
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise DataValidationError(f"{role} column(s) {', '.join(map(repr, repeated))} listed twice.")
    for role, column in (("strain", strain_col), ("time", time_col)):
        if column not in frame.columns:
            close = difflib.get_close_matches(column, [str(c) for c in frame.columns], n=1)
            raise DataValidationError(
                f"The {role} column {column!r} is missing{where}"
                + (f" (did you mean {close[0]!r}?)" if close else "")
                + f". Columns: {', '.join(map(str, frame.columns))}. "
                f"Pass {role}_col= with the name of the column that holds the {role}."
            )
    unknown = [c for c in states + controls if c not in frame.columns]
    if unknown:
        raise DataValidationError(
            _unknown_message("column", unknown, [c for c in frame.columns if c not in (strain_col, time_col)])
            + f" Check the state and control names against the header{where}."
        )
    if len(frame) == 0:
        raise DataValidationError(f"The table{where} has a header but no rows.")

    def rows(mask: pd.Series, limit: int = 5) -> str:
        labels = list(frame.index[mask.to_numpy()])
        text = ", ".join(f"{row_name} {label}" for label in labels[:limit])
        return text + (f" and {len(labels) - limit} more" if len(labels) > limit else "")

    strain = frame[strain_col]
    if strain.isna().any():
        raise DataValidationError(
            f"Missing strain name in column {strain_col!r} at {rows(strain.isna())}{where}. "
            "Every row needs a strain."
        )
    strain = strain.astype(str).str.strip()
    time = pd.to_numeric(frame[time_col], errors="coerce")
    bad_time = time.isna() | ~np.isfinite(time.fillna(0.0))
    if bad_time.any():
        first = frame.index[bad_time.to_numpy()][0]
        raise DataValidationError(
            f"Time column {time_col!r} has a missing or non-numeric value at {rows(bad_time)}{where} "
            f"(e.g. {frame.loc[first, time_col]!r}). Times must be numbers (hours)."
        )

    variables = controls + states
    values = pd.DataFrame(index=frame.index)
    for column in variables:
        raw = frame[column]
        numeric = pd.to_numeric(raw, errors="coerce")
        bad = (raw.notna() & numeric.isna()) | np.isinf(numeric.fillna(0.0))
        if bad.any():
            first = frame.index[bad.to_numpy()][0]
            raise DataValidationError(
                f"Column {column!r} has non-numeric or infinite values at {rows(bad)}{where} "
                f"(e.g. {frame.loc[first, column]!r}). Use numbers, and leave the cell empty where "
                "nothing was measured."
            )
        negative = numeric < 0
        if negative.any():
            first = frame.index[negative.to_numpy()][0]
            raise DataValidationError(
                f"Column {column!r} has negative values at {rows(negative)}{where} "
                f"(e.g. {numeric[first]:g}); concentrations and protein levels cannot be negative. "
                "Correct them, or leave the cells empty if they are below the detection limit."
            )
        values[column] = numeric.astype(float)

    keys = pd.DataFrame({"strain": strain, "time": time.astype(float)}, index=frame.index)
    duplicated = keys.duplicated(keep=False)
    if duplicated.any():
        first = keys[duplicated].iloc[0]
        raise DataValidationError(
            f"Duplicated (strain, time) at {rows(duplicated)}{where}: strain {first['strain']!r} "
            f"has more than one row at time {first['time']:g}. Average replicates into one row, "
            "or give them distinct strain names."
        )
    for name_, group in keys.groupby("strain", sort=False):
        steps = np.diff(group["time"].to_numpy())
        if (steps <= 0).any():
            k = int(np.argmax(steps <= 0)) + 1
            label = group.index[k]
            raise DataValidationError(
                f"Time does not increase within strain {name_!r}: {row_name} {label} "
                f"(time {group['time'].iloc[k]:g}) comes after time {group['time'].iloc[k - 1]:g}{where}. "
                f"Sort the rows by {strain_col} and then {time_col}."
            )

    has_value = values.notna().any(axis=1)
    rest = frame.loc[~has_value].drop(columns=[strain_col, time_col])
    rest = rest.rename(columns={c: f"{c} (input)" for c in rest.columns if c in (row_name, "strain", "time")})
    keys_excluded = pd.DataFrame(
        {row_name: rest.index, "strain": strain[~has_value], "time": time[~has_value].astype(float)},
        index=rest.index,
    )
    excluded = pd.concat([keys_excluded, rest], axis=1).reset_index(drop=True)

    table = pd.concat([keys, values], axis=1).loc[has_value]
    for name_, group in table.groupby("strain", sort=False):
        if len(group) < min_times:
            raise DataValidationError(
                f"Strain {name_!r} has {len(group)} sampling time(s) with state or control values"
                f"{where}; at least {min_times} are needed to interpolate in time. Add measurements "
                "or leave the strain out."
            )
        empty = [c for c in variables if group[c].isna().all()]
        if empty:
            kinds = ["state" if c in states else "control" for c in empty]
            raise DataValidationError(
                f"Strain {name_!r} has no values at all for "
                + ", ".join(f"{k} {c!r}" for k, c in zip(kinds, empty))
                + f"{where}. Drop the column from the states/controls, or drop the strain."
            )
    table = table.reset_index(drop=True)
    measured = table[variables].notna()
    known_units = {c: u for c, u in (units or {}).items() if c in variables}
    ignored = tuple(c for c in frame.columns if c not in {strain_col, time_col, *variables})
    if product is not None and product not in states:
        raise DataValidationError(f"The product {product!r} must be one of the states: {', '.join(states)}.")
    return Dataset(
        table=table,
        measured=measured,
        states=tuple(states),
        controls=tuple(controls),
        units=known_units,
        name=name,
        source=source,
        product=product,
        excluded_rows=excluded,
        ignored_columns=ignored,
    )


# ---------------------------------------------------------------------------------------------
# Preprocessing
# ---------------------------------------------------------------------------------------------


def impute(dataset: Dataset) -> Dataset:
    """Fill the gaps of each strain by linear interpolation in time.

    Within each strain and variable, a missing value between two measurements is interpolated
    linearly in time (not by row position: the sampling is uneven); before the first or after
    the last measurement the nearest measured value is held. ``measured`` is unchanged, so the
    filled values stay distinguishable.
    """
    table = dataset.table.copy()
    for strain in dataset.strains:
        rows = table["strain"] == strain
        t = table.loc[rows, "time"].to_numpy(dtype=float)
        for column in dataset.variables:
            known = dataset.measured.loc[rows, column].to_numpy()
            v = table.loc[rows, column].to_numpy(dtype=float)
            table.loc[rows, column] = np.interp(t, t[known], v[known])
    return replace(dataset, table=table, filled=True)


@dataclass
class Trajectories:
    """Strains on one even time grid, as arrays.

    Attributes
    ----------
    strains : names, length S.
    times : (T,) hours.
    x : (S, T, n_states) states in original units.
    u : (S, T, n_controls) controls in original units.
    measured : long table ``strain, time, variable, kind, value, measured`` of the values that
        were actually measured (for scoring against measurements, not interpolated curves).
    """

    strains: tuple[str, ...]
    times: np.ndarray
    x: np.ndarray
    u: np.ndarray
    states: tuple[str, ...]
    controls: tuple[str, ...]
    measured: pd.DataFrame
    units: dict[str, str] = field(default_factory=dict)

    def index(self, strain: str) -> int:
        if strain not in self.strains:
            raise DataValidationError(_unknown_message("strain", [strain], self.strains))
        return self.strains.index(strain)

    def subset(self, strains: Iterable[str]) -> "Trajectories":
        strains = tuple(strains)
        idx = [self.index(s) for s in strains]
        return replace(
            self,
            strains=strains,
            x=self.x[idx],
            u=self.u[idx],
            measured=self.measured[self.measured["strain"].isin(strains)].reset_index(drop=True),
        )

    def frame(self, strain: str) -> pd.DataFrame:
        """One strain as a DataFrame: ``time`` then controls then states."""
        i = self.index(strain)
        out = pd.DataFrame(self.u[i], columns=list(self.controls))
        out[list(self.states)] = self.x[i]
        out.insert(0, "time", self.times)
        return out

    def __repr__(self) -> str:
        return (
            f"Trajectories({len(self.strains)} strains {list(self.strains)}, {len(self.times)} times "
            f"{self.times[0]:g}-{self.times[-1]:g} h, x {self.x.shape}, u {self.u.shape})"
        )


def resample(
    dataset: Dataset,
    n_points: int = 200,
    t_start: float | None = None,
    t_end: float | None = None,
) -> Trajectories:
    """Interpolate every strain linearly onto one even grid of ``n_points`` times.

    Gaps are filled first (:func:`impute`) if the dataset was not imputed. The grid spans
    [t_start, t_end], by default the window that every strain covers (0-72 h for the pathway
    tables), so no strain is extrapolated.
    """
    if n_points < 2:
        raise DataValidationError(f"n_points must be at least 2, got {n_points}.")
    if not dataset.filled:
        dataset = impute(dataset)
    spans = dataset.table.groupby("strain", sort=False)["time"].agg(["min", "max"])
    start = float(spans["min"].max()) if t_start is None else float(t_start)
    end = float(spans["max"].min()) if t_end is None else float(t_end)
    if not end > start:
        raise DataValidationError(
            f"The strains share no time window to resample on (start {start:g} h, end {end:g} h); "
            "pass t_start and t_end, or resample strains with overlapping times separately."
        )
    times = np.linspace(start, end, n_points)
    xs, us = [], []
    for strain in dataset.strains:
        rows = dataset.strain_table(strain)
        t = rows["time"].to_numpy(dtype=float)
        us.append(np.stack([np.interp(times, t, rows[c].to_numpy(dtype=float)) for c in dataset.controls], -1)
                  if dataset.controls else np.zeros((n_points, 0)))
        xs.append(np.stack([np.interp(times, t, rows[c].to_numpy(dtype=float)) for c in dataset.states], -1))
    return Trajectories(
        strains=dataset.strains,
        times=times,
        x=np.stack(xs),
        u=np.stack(us),
        states=dataset.states,
        controls=dataset.controls,
        measured=dataset.to_long(measured_only=True),
        units=dict(dataset.units),
    )


def split(
    dataset: Dataset, train: Sequence[str], test: Sequence[str]
) -> tuple[Dataset, Dataset]:
    """Split a dataset by strain into (train, test); the two must not share a strain."""
    train, test = list(train), list(test)
    if not train:
        raise DataValidationError("The training split is empty: name at least one training strain.")
    if not test:
        raise DataValidationError("The test split is empty: name at least one test strain.")
    unknown = [s for s in train + test if s not in dataset.strains]
    if unknown:
        raise DataValidationError(_unknown_message("strain", unknown, dataset.strains) + " (in the split)")
    shared = sorted(set(train) & set(test))
    if shared:
        raise DataValidationError(
            f"Strain(s) {', '.join(shared)} are both in the training and the test split; a held-out "
            "strain must not be trained on."
        )
    return dataset.subset(train), dataset.subset(test)


class Scaler:
    """Per-feature scaling with an exact inverse, fitted on training data only.

    Methods
    -------
    ``"standardize"``: (v - mean) / sd.
    ``"log1p"``: log1p(v), then standardized; compresses the orders of magnitude of protein peak
        areas (1e3-1e7) and of skewed concentrations. Needs v > -1.
    ``"none"``: identity.

    Arrays are (..., n_features); statistics are taken over all leading axes. A feature with
    zero spread gets sd 1 (it is only centred).
    """

    METHODS = ("standardize", "log1p", "none")

    def __init__(self, method: str = "standardize", names: Sequence[str] | None = None):
        if method not in self.METHODS:
            raise ValueError(f"Unknown scaling {method!r}; choose one of {', '.join(self.METHODS)}.")
        self.method = method
        self.names = tuple(names) if names is not None else None
        self.mean_: np.ndarray | None = None
        self.scale_: np.ndarray | None = None

    def _forward(self, values: np.ndarray) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        if self.method == "log1p":
            if (values <= -1).any():
                raise DataValidationError("log1p scaling needs values above -1.")
            return np.log1p(values)
        return values

    def fit(self, values: np.ndarray) -> "Scaler":
        values = self._forward(values)
        flat = values.reshape(-1, values.shape[-1])
        if self.names is not None and len(self.names) != flat.shape[1]:
            raise ValueError(f"Scaler for {len(self.names)} features got {flat.shape[1]} columns.")
        if self.method == "none":
            self.mean_, self.scale_ = np.zeros(flat.shape[1]), np.ones(flat.shape[1])
        else:
            self.mean_ = flat.mean(axis=0)
            sd = flat.std(axis=0)
            self.scale_ = np.where(sd > 0, sd, 1.0)
        return self

    def _check(self, values: np.ndarray) -> None:
        if self.mean_ is None:
            raise RuntimeError("The scaler is not fitted: call fit() on the training data first.")
        if np.shape(values)[-1] != len(self.mean_):
            raise ValueError(f"Expected {len(self.mean_)} features, got {np.shape(values)[-1]}.")

    def transform(self, values: np.ndarray) -> np.ndarray:
        self._check(values)
        return (self._forward(values) - self.mean_) / self.scale_

    def inverse_transform(self, values: np.ndarray) -> np.ndarray:
        self._check(values)
        out = np.asarray(values, dtype=float) * self.scale_ + self.mean_
        return np.expm1(out) if self.method == "log1p" else out

    def fit_transform(self, values: np.ndarray) -> np.ndarray:
        return self.fit(values).transform(values)

    def to_dict(self) -> dict:
        """Plain-Python state, for checkpoints."""
        return {
            "method": self.method,
            "names": list(self.names) if self.names is not None else None,
            "mean": None if self.mean_ is None else self.mean_.tolist(),
            "scale": None if self.scale_ is None else self.scale_.tolist(),
        }

    @classmethod
    def from_dict(cls, state: Mapping) -> "Scaler":
        scaler = cls(state["method"], state.get("names"))
        if state.get("mean") is not None:
            scaler.mean_ = np.asarray(state["mean"], dtype=float)
            scaler.scale_ = np.asarray(state["scale"], dtype=float)
        return scaler

    def __repr__(self) -> str:
        fitted = "fitted" if self.mean_ is not None else "not fitted"
        return f"Scaler({self.method!r}, {fitted})"


@dataclass
class PreparedData:
    """The output of :func:`prepare`: everything a model needs, in original units and scalers.

    ``train``/``test`` are :class:`Trajectories` in original units; ``state_scaler`` and
    ``control_scaler`` were fitted on ``train`` only. ``dataset`` is the imputed dataset.
    """

    dataset: Dataset
    train: Trajectories
    test: Trajectories
    state_scaler: Scaler
    control_scaler: Scaler

    def __repr__(self) -> str:
        return (
            f"PreparedData({self.dataset.name!r}: train {list(self.train.strains)}, test "
            f"{list(self.test.strains)}, {len(self.train.times)} grid points, states scaled "
            f"{self.state_scaler.method!r}, controls {self.control_scaler.method!r})"
        )


def default_split(dataset: Dataset) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The paper's split for a pathway table: train low + high producer, test the medium one."""
    spec = PATHWAYS.get(dataset.name)
    if spec is None or not set(spec.strains) <= set(dataset.strains):
        raise DataValidationError(
            f"No default split for dataset {dataset.name!r}: pass train= and test= strain lists "
            f"(strains: {', '.join(dataset.strains)})."
        )
    return spec.train, spec.test


def prepare(
    dataset: Dataset,
    train: Sequence[str] | None = None,
    test: Sequence[str] | None = None,
    *,
    n_points: int = 200,
    state_scaling: str = "standardize",
    control_scaling: str = "standardize",
) -> PreparedData:
    """Impute, resample to an even grid, split by strain and fit scalers on the training strains.

    ``train``/``test`` default to the paper's split for the two pathway tables.
    """
    if train is None or test is None:
        default_train, default_test = default_split(dataset)
        train = default_train if train is None else train
        test = default_test if test is None else test
    train_set, test_set = split(dataset, train, test)
    filled = impute(dataset)
    grid = resample(filled, n_points=n_points)
    train_grid, test_grid = grid.subset(train_set.strains), grid.subset(test_set.strains)
    state_scaler = Scaler(state_scaling, dataset.states).fit(train_grid.x)
    control_scaler = Scaler(control_scaling, dataset.controls).fit(train_grid.u)
    return PreparedData(filled, train_grid, test_grid, state_scaler, control_scaler)


# ---------------------------------------------------------------------------------------------
# Pathway structure: the reactions, as data
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reaction:
    """One step of a pathway, as the structured neural ODE uses it.

    name : a label, e.g. ``"HMGR"``.
    substrates, products : ``{state: stoichiometric coefficient}`` (positive numbers, molecules
        consumed or made per turnover), or a sequence of names (coefficient 1). A reaction without
        substrates is a supply from the host; one without products is a drain.
    enzymes : the controls (protein columns) that catalyse it; its flux sees only these and its
        substrates (and ``modifiers``).
    modifiers : further states the flux depends on without consuming them (e.g. feedback).
    lumped : unmeasured intermediates this step stands for (documentation; e.g. Mev-PP in
        PMK/PMD), so that a reader sees what a lumped step hides.
    """

    name: str
    substrates: Mapping[str, float] = field(default_factory=dict)
    products: Mapping[str, float] = field(default_factory=dict)
    enzymes: tuple[str, ...] = ()
    modifiers: tuple[str, ...] = ()
    lumped: tuple[str, ...] = ()

    def __post_init__(self):
        for side in ("substrates", "products"):
            value = getattr(self, side)
            if not isinstance(value, Mapping):
                value = {name: 1.0 for name in value}
            bad = {k: v for k, v in value.items() if not (np.isfinite(v) and v > 0)}
            if bad:
                raise ValueError(f"Reaction {self.name!r}: stoichiometric coefficients of its {side} must be "
                                 f"positive numbers, got {bad}.")
            object.__setattr__(self, side, dict(value))
        object.__setattr__(self, "enzymes", tuple(self.enzymes))
        object.__setattr__(self, "modifiers", tuple(self.modifiers))
        object.__setattr__(self, "lumped", tuple(self.lumped))
        if not self.substrates and not self.products:
            raise ValueError(f"Reaction {self.name!r} has neither substrates nor products.")

    @property
    def inputs(self) -> tuple[str, ...]:
        """The states the flux depends on: substrates then modifiers, without repeats."""
        return tuple(dict.fromkeys([*self.substrates, *self.modifiers]))

    def to_dict(self) -> dict:
        """Plain-Python form (for checkpoints); :meth:`from_dict` inverts it."""
        return {"name": self.name, "substrates": dict(self.substrates), "products": dict(self.products),
                "enzymes": list(self.enzymes), "modifiers": list(self.modifiers), "lumped": list(self.lumped)}

    @classmethod
    def from_dict(cls, values: Mapping) -> "Reaction":
        return cls(values["name"], dict(values.get("substrates", {})), dict(values.get("products", {})),
                   tuple(values.get("enzymes", ())), tuple(values.get("modifiers", ())),
                   tuple(values.get("lumped", ())))

    def __str__(self) -> str:
        def side(terms):
            return " + ".join(f"{'' if c == 1 else f'{c:g} '}{s}" for s, c in terms.items()) or "∅"

        by = f" [{', '.join(self.enzymes)}]" if self.enzymes else " [host]"
        return f"{self.name}: {side(self.substrates)} -> {side(self.products)}{by}"


def _upper_pathway(product_step: Reaction, with_mev_p: bool) -> tuple[Reaction, ...]:
    steps = [
        # The host supplies acetyl-CoA (central metabolism); no pathway enzyme catalyses it.
        Reaction("acetyl-CoA supply", products={"Acetyl-CoA": 1.0}, modifiers=("Acetyl-CoA",)),
        # 2 acetyl-CoA -(AtoB)-> acetoacetyl-CoA; + acetyl-CoA -(HMGS)-> HMG-CoA
        Reaction("AtoB/HMGS", {"Acetyl-CoA": 3.0}, {"HMG-CoA": 1.0}, ("AtoB", "HMGS"),
                 lumped=("Acetoacetyl-CoA",)),
        Reaction("HMGR", {"HMG-CoA": 1.0}, {"Mevalonate": 1.0}, ("HMGR",)),
    ]
    if with_mev_p:
        steps += [
            Reaction("MK", {"Mevalonate": 1.0}, {"Mev-P": 1.0}, ("MK",)),
            Reaction("PMK/PMD", {"Mev-P": 1.0}, {"IPP/DMAPP": 1.0}, ("PMK", "PMD"), lumped=("Mev-PP",)),
        ]
    else:
        steps.append(Reaction("MK/PMK/PMD", {"Mevalonate": 1.0}, {"IPP/DMAPP": 1.0}, ("MK", "PMK", "PMD"),
                              lumped=("Mev-P", "Mev-PP")))
    return tuple(steps) + (product_step,)


_LIMONENE_STEP = Reaction("Idi/GPPS/LS", {"IPP/DMAPP": 2.0}, {"Limonene": 1.0},
                          ("Idi", "GPPS", "Limonene Synthase"), lumped=("GPP",))

#: The reactions of each pathway, as data: acetyl-CoA -> HMG-CoA -> mevalonate -> Mev-P ->
#: IPP/DMAPP -> (GPP ->) product. Unmeasured intermediates (acetoacetyl-CoA, Mev-PP, GPP, and
#: Mev-P for isopentenol, whose series is left out of the states) are lumped into the step that
#: makes and consumes them: their pools are assumed small and fast, so the lumped step's flux is
#: the flux through them. ``"synthetic"`` is the pathway of :mod:`nodebio.synthetic` with its
#: measured states. :func:`stoichiometry` turns a list into a matrix for given states and controls.
REACTIONS: dict[str, tuple[Reaction, ...]] = {
    "limonene": _upper_pathway(_LIMONENE_STEP, with_mev_p=True),
    "isopentenol": _upper_pathway(Reaction("NudB", {"IPP/DMAPP": 1.0}, {"Isopentenol": 1.0}, ("NudB",)),
                                  with_mev_p=False),
    "synthetic": _upper_pathway(_LIMONENE_STEP, with_mev_p=True),
}


def reactions_for(name: str) -> tuple[Reaction, ...]:
    """The reaction list of a dataset by its name (a key of :data:`REACTIONS`)."""
    if name not in REACTIONS:
        raise DataValidationError(
            f"No reaction list for dataset {name!r} (known: {', '.join(REACTIONS)}). Pass reactions= "
            "explicitly: a list of nodebio.data.Reaction naming its states and controls."
        )
    return REACTIONS[name]


def stoichiometry(reactions: Sequence[Reaction], states: Sequence[str], controls: Sequence[str]) -> np.ndarray:
    """The stoichiometric matrix S, shape (n_states, n_reactions): S[i, j] is the net number of
    molecules of state i that one turnover of reaction j makes (negative: consumes).

    Every state, modifier and enzyme a reaction names must be among ``states``/``controls``;
    otherwise :class:`DataValidationError` names the reaction, the missing name and the fix.
    """
    states, controls = list(states), list(controls)
    if not reactions:
        raise DataValidationError("The reaction list is empty: a structured model needs at least one reaction.")
    names = [r.name for r in reactions]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise DataValidationError(f"Reaction names must be unique; repeated: {', '.join(repeated)}.")
    S = np.zeros((len(states), len(reactions)))
    for j, reaction in enumerate(reactions):
        for kind, names_, known in (("state", [*reaction.substrates, *reaction.products, *reaction.modifiers], states),
                                    ("enzyme", list(reaction.enzymes), controls)):
            missing = [n for n in names_ if n not in known]
            if missing:
                raise DataValidationError(
                    f"Reaction {reaction.name!r} names {kind}(s) absent from the data: "
                    + _unknown_message(kind, missing, known)
                    + f" Add the column to the dataset's {'states' if kind == 'state' else 'controls'}, or edit the "
                    "reaction (lump the missing metabolite into a neighbouring step, or drop the enzyme)."
                )
        for s, c in reaction.substrates.items():
            S[states.index(s), j] -= c
        for s, c in reaction.products.items():
            S[states.index(s), j] += c
    return S
