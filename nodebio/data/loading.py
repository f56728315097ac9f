"""Loading and validating tables: the pathway tables, any tidy CSV, any DataFrame.

:func:`load` reads a pathway table (``"limonene"`` or ``"isopentenol"``), :func:`load_csv` any tidy
CSV of the same shape and :func:`from_frame` a pandas DataFrame: one row per (strain, time), one
column per state (metabolite) and control (protein). All three validate the input and return a
:class:`~nodebio.data.Dataset`; :func:`from_frame` runs its checks one named function at a time,
each failing with a :class:`~nodebio.errors.DataValidationError` that names the column or row
and says how to fix it.
"""

from __future__ import annotations

import csv
import difflib
import os
import warnings
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from nodebio.data.dataset import PATHWAYS, UNITS, Dataset
from nodebio.data.files import REGISTRY, fetch, file_sha256
from nodebio.errors import DataValidationError, DataWarning, unknown_message

__all__ = ["TIME_UNITS", "load", "load_csv", "from_frame"]

#: pandas' missing-value markers, used for every column but the strain's.
_NA_STRINGS = {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN", "<NA>",
               "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}

#: Units a time column may be in, with their length in hours; every table is converted to hours
#: once, at load.
TIME_UNITS = {"h": 1.0, "min": 1.0 / 60.0, "s": 1.0 / 3600.0, "d": 24.0}
#: The time span (h) the models' defaults were measured on (the pathway tables: 0-72 h); a table
#: whose span is more than ten times longer or shorter gets a :class:`DataWarning`.
REFERENCE_SPAN_HOURS = 72.0
#: A value more than this many times the median of its column's positive values is flagged.
OUTLIER_FACTOR = 1e6

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
        raise DataValidationError(unknown_message("pathway", [pathway], list(PATHWAYS)))
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
    time_unit: str = "h",
) -> Dataset:
    """Load and validate a tidy CSV: one row per (strain, time), one column per variable.

    Error messages give the CSV line (the header is line 1) of the offending row. The file must
    be UTF-8 text. Strain names are read as they are written (``NA`` and ``None`` are names, not
    missing values). ``time_unit`` is the unit of the time column (:data:`TIME_UNITS`).
    """
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"{path} does not exist or is not a file.")
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            header = next(csv.reader(handle), None)
            handle.read()
    except UnicodeDecodeError as error:
        raise DataValidationError(
            f"{path} is not UTF-8 text (byte {error.object[error.start:error.start + 1]!r} at position "
            f"{error.start}): save it as UTF-8 (a spreadsheet's 'CSV UTF-8'), or convert it, e.g. "
            f"`iconv -f latin1 -t utf-8 {path.name} > {path.stem}-utf8.csv`."
        ) from None
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
        # no missing-value markers in the strain column: a strain may be called NA or None
        missing = {c: sorted(_NA_STRINGS) for c in header if c != strain_col}
        frame = pd.read_csv(path, encoding="utf-8-sig", dtype={strain_col: str}, keep_default_na=False,
                            na_values=missing)
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
        time_unit=time_unit,
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
    time_unit: str = "h",
) -> Dataset:
    """Validate a tidy DataFrame and build a :class:`Dataset`.

    ``time_unit`` (``"h"``, ``"min"``, ``"s"`` or ``"d"``) is the unit of the time column; times
    are converted to hours once, here. Date-time and duration columns are refused (with the
    conversion to hours to apply); a time span ten times longer or shorter than the 72 h the
    defaults were measured on, and a value a million times the median of its column, give a
    :class:`~nodebio.errors.DataWarning`.

    Checks, each failing with a :class:`DataValidationError` that names the column or row:
    missing, duplicated or unknown columns; a column used both as state and control; missing or
    non-numeric strain or time values; non-numeric or infinite cells; negative values;
    duplicated (strain, time); time not increasing within a strain; a strain with fewer than
    ``min_times`` sampling times; a state or control with no value at all for a strain.
    Rows labelled by the frame's index (``row_name`` says what the label is, e.g. a CSV line).
    """
    states, controls = list(states), list(controls)
    where = f" in {source}" if source else ""
    rows = _RowLabels(frame.index, row_name)
    if time_unit not in TIME_UNITS:
        raise DataValidationError(unknown_message("time unit", [time_unit], list(TIME_UNITS)))
    _check_columns(frame, states, controls, time_col, strain_col, where)
    strain, time = _strain_and_time(frame, strain_col, time_col, rows, where)
    time = time * TIME_UNITS[time_unit]
    _warn_on_span(time, time_unit, where)
    variables = controls + states
    values = pd.DataFrame({column: _numeric_column(frame, column, rows, where) for column in variables},
                          index=frame.index)
    _warn_on_outliers(values, rows, where)
    keys = pd.DataFrame({"strain": strain, "time": time}, index=frame.index)
    _check_keys(keys, rows, strain_col, time_col, where)

    has_value = values.notna().any(axis=1)
    excluded = _excluded_rows(frame, strain, time, has_value, strain_col, time_col, row_name)
    table = pd.concat([keys, values], axis=1).loc[has_value]
    _check_strain_coverage(table, states, variables, min_times, where)
    if product is not None and product not in states:
        raise DataValidationError(f"The product {product!r} must be one of the states: {', '.join(states)}.")
    table = table.reset_index(drop=True)
    return Dataset(
        table=table,
        mask=table[variables].notna(),
        states=tuple(states),
        controls=tuple(controls),
        units={c: u for c, u in (units or {}).items() if c in variables},
        name=name,
        source=source,
        product=product,
        excluded_rows=excluded,
        ignored_columns=tuple(c for c in frame.columns if c not in {strain_col, time_col, *variables}),
        input_time_unit=time_unit,
    )


class _RowLabels:
    """Words the rows of a boolean mask for a message: ``line 3, line 7 and 2 more``."""

    def __init__(self, index: pd.Index, row_name: str):
        self.index, self.row_name = index, row_name

    def __call__(self, mask: pd.Series, limit: int = 5) -> str:
        labels = list(self.index[np.asarray(mask, dtype=bool)])
        text = ", ".join(f"{self.row_name} {label}" for label in labels[:limit])
        return text + (f" and {len(labels) - limit} more" if len(labels) > limit else "")


def _check_columns(frame: pd.DataFrame, states: list[str], controls: list[str], time_col: str, strain_col: str,
                   where: str) -> None:
    """The column lists make sense and every named column is in the frame, which has rows."""
    if frame.columns.duplicated().any():
        duplicated = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise DataValidationError(
            f"Columns {', '.join(map(repr, duplicated))} appear more than once{where}. "
            "Rename or remove the duplicates."
        )
    if not states:
        raise DataValidationError("No state columns given: name at least one metabolite column.")
    if not controls:
        raise DataValidationError("No control columns given: name at least one protein (enzyme) column; the "
                                  "models predict the states from the controls.")
    both = sorted(set(states) & set(controls))
    if both:
        raise DataValidationError(
            f"{', '.join(map(repr, both))} listed both as state and as control; a column is one or "
            "the other."
        )
    reserved = [c for c in states + controls if c in ("strain", "time")]
    if reserved:
        raise DataValidationError(
            f"A state or control column may not be named {reserved[0]!r}: nodebio's tables keep the strain and the "
            f"time in columns of those names. Rename the column {reserved[0]!r}{where} (e.g. to "
            f"'{reserved[0]}_value') and give the new name.")
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
            unknown_message("column", unknown, [c for c in frame.columns if c not in (strain_col, time_col)])
            + f" Check the state and control names against the header{where}."
        )
    if len(frame) == 0:
        raise DataValidationError(f"The table{where} has a header but no rows.")


def _strain_and_time(frame: pd.DataFrame, strain_col: str, time_col: str, rows: _RowLabels,
                     where: str) -> tuple[pd.Series, pd.Series]:
    """The strain names (stripped strings) and times (finite numbers) of every row."""
    strain = frame[strain_col]
    missing = strain.isna() | (strain.astype(str).str.strip() == "")
    if missing.any():
        raise DataValidationError(
            f"Missing strain name in column {strain_col!r} at {rows(missing)}{where}. "
            "Every row needs a strain."
        )
    raw = frame[time_col]
    if pd.api.types.is_datetime64_any_dtype(raw):
        raise DataValidationError(
            f"Time column {time_col!r} holds dates and times{where}; the models need numbers: hours since the "
            f"start of the experiment, e.g. (t - t.min()) / pd.Timedelta(hours=1)."
        )
    if pd.api.types.is_timedelta64_dtype(raw):
        raise DataValidationError(
            f"Time column {time_col!r} holds durations{where}; the models need numbers of hours, e.g. "
            "t / pd.Timedelta(hours=1)."
        )
    time = pd.to_numeric(raw, errors="coerce")
    bad_time = time.isna() | ~np.isfinite(time.fillna(0.0))
    if bad_time.any():
        first = frame.index[bad_time.to_numpy()][0]
        example = frame.loc[first, time_col]
        clock = ""
        if isinstance(example, str) and not pd.isna(pd.to_datetime(example, errors="coerce")):
            clock = (" It looks like a date or clock time: convert the column to hours since the start of the "
                     "experiment first.")
        raise DataValidationError(
            f"Time column {time_col!r} has a missing or non-numeric value at {rows(bad_time)}{where} "
            f"(e.g. {example!r}). Times must be numbers (hours, or the unit of time_unit=).{clock}"
        )
    return strain.astype(str).str.strip(), time.astype(float)


def _warn_on_span(time: pd.Series, unit: str, where: str) -> None:
    span = float(time.max() - time.min())
    if span > 10 * REFERENCE_SPAN_HOURS or 0 < span < REFERENCE_SPAN_HOURS / 10:
        warnings.warn(
            f"The times{where} span {time.min():g}-{time.max():g} h (read as {unit}), far from the "
            f"{REFERENCE_SPAN_HOURS:g} h the models' defaults were measured on. If the time column is in "
            "minutes, seconds or days, give its unit (--time-unit min|s|d, or time_unit=).",
            DataWarning, stacklevel=3)


def _warn_on_outliers(values: pd.DataFrame, rows: _RowLabels, where: str) -> None:
    for column in values.columns:
        positive = values[column][values[column] > 0]
        if len(positive) < 3:
            continue
        far = values[column] > OUTLIER_FACTOR * positive.median()
        if far.any():
            warnings.warn(
                f"Column {column!r}{where} has values more than {OUTLIER_FACTOR:g} times its median "
                f"({values[column][far].iloc[0]:g} at {rows(far)}): a unit or typing error? Check them.",
                DataWarning, stacklevel=3)


def _numeric_column(frame: pd.DataFrame, column: str, rows: _RowLabels, where: str) -> pd.Series:
    """One state or control column as floats: numbers or empty cells, none negative or infinite."""
    raw = frame[column]
    numeric = pd.to_numeric(raw, errors="coerce")
    bad = (raw.notna() & numeric.isna()) | np.isinf(numeric.fillna(0.0))
    for mask, what, example, advice in (
        (bad, "non-numeric or infinite", lambda i: repr(frame.loc[i, column]),
         "Use numbers, and leave the cell empty where nothing was measured."),
        (numeric < 0, "negative", lambda i: f"{numeric[i]:g}",
         "Concentrations and protein levels cannot be negative: correct them, or leave the cells empty if "
         "they are below the detection limit."),
    ):
        if mask.any():
            first = frame.index[mask.to_numpy()][0]
            raise DataValidationError(f"Column {column!r} has {what} values at {rows(mask)}{where} "
                                      f"(e.g. {example(first)}). {advice}")
    return numeric.astype(float)


def _check_keys(keys: pd.DataFrame, rows: _RowLabels, strain_col: str, time_col: str, where: str) -> None:
    """One row per (strain, time), and time increasing within each strain."""
    duplicated = keys.duplicated(keep=False)
    if duplicated.any():
        first = keys[duplicated].iloc[0]
        raise DataValidationError(
            f"Duplicated (strain, time) at {rows(duplicated)}{where}: strain {first['strain']!r} "
            f"has more than one row at time {first['time']:g}. Average replicates into one row, "
            "or give them distinct strain names."
        )
    for name, group in keys.groupby("strain", sort=False):
        steps = np.diff(group["time"].to_numpy())
        if (steps <= 0).any():
            k = int(np.argmax(steps <= 0)) + 1
            raise DataValidationError(
                f"Time does not increase within strain {name!r}: {rows.row_name} {group.index[k]} "
                f"(time {group['time'].iloc[k]:g}) comes after time {group['time'].iloc[k - 1]:g}{where}. "
                f"Sort the rows by {strain_col} and then {time_col}."
            )


def _excluded_rows(frame: pd.DataFrame, strain: pd.Series, time: pd.Series, has_value: pd.Series,
                   strain_col: str, time_col: str, row_name: str) -> pd.DataFrame:
    """The rows without any state or control value, as they were read, labelled by their row."""
    rest = frame.loc[~has_value].drop(columns=[strain_col, time_col])
    rest = rest.rename(columns={c: f"{c} (input)" for c in rest.columns if c in (row_name, "strain", "time")})
    keys = pd.DataFrame({row_name: rest.index, "strain": strain[~has_value], "time": time[~has_value]},
                        index=rest.index)
    return pd.concat([keys, rest], axis=1).reset_index(drop=True)


def _check_strain_coverage(table: pd.DataFrame, states: list[str], variables: list[str], min_times: int,
                           where: str) -> None:
    """Every strain has enough sampling times and at least one value of every variable."""
    for name, group in table.groupby("strain", sort=False):
        if len(group) < min_times:
            raise DataValidationError(
                f"Strain {name!r} has {len(group)} sampling time(s) with state or control values"
                f"{where}; at least {min_times} are needed to interpolate in time. Add measurements "
                "or leave the strain out."
            )
        empty = [c for c in variables if group[c].isna().all()]
        if empty:
            kinds = ["state" if c in states else "control" for c in empty]
            raise DataValidationError(
                f"Strain {name!r} has no values at all for "
                + ", ".join(f"{k} {c!r}" for k, c in zip(kinds, empty))
                + f"{where}. Drop the column from the states/controls, or drop the strain."
            )
