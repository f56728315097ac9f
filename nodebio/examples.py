"""A dataset of one's own, shipped with the package: the example of the chapter "Your own data".

``CSV`` is a tidy table of four strains of the synthetic pathway (:mod:`nodebio.synthetic`,
settings :data:`SETTINGS`), with a few values left out as a real experiment leaves them;
``REACTIONS`` is the pathway's reaction file (the YAML of :mod:`nodebio.data.reaction_files`).
Both are package data, so they are installed with the package. :func:`write_example` makes the
CSV again from the synthetic pathway (the tests check that it gives the same file), and
:func:`mistakes` writes broken copies of it, one common mistake each, to show what the
validator (:func:`nodebio.data.load_csv`, ``nodebio info --csv``) says about them.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from nodebio import data, synthetic
from nodebio import safeio
from nodebio.errors import UsageError

__all__ = ["FOLDER", "CSV", "REACTIONS", "SETTINGS", "GAPS", "STATES", "CONTROLS", "PRODUCT", "TRAIN", "TEST",
           "example_frame", "write_example", "load_example", "copy_example", "true_fold_change", "Mistake",
           "mistakes"]

#: Where the example files are installed.
FOLDER = Path(__file__).resolve().parent / "data" / "examples"
CSV = FOLDER / "synthetic-limonene.csv"
REACTIONS = FOLDER / "synthetic-limonene.yaml"
#: The strains of ``CSV``: ``nodebio.synthetic.generate(**SETTINGS)``.
SETTINGS = {"n_strains": 4, "seed": 7, "noise": 0.05}
#: Values left out of ``CSV`` (strain, hour, column): not measured, as in a real experiment.
GAPS = (("S1", 18.0, "Mev-P"), ("S2", 36.0, "IPP/DMAPP"), ("S3", 8.0, "HMG-CoA"), ("S3", 8.0, "Mev-P"))
STATES = synthetic.MEASURED_STATES
CONTROLS = synthetic.ENZYMES
PRODUCT = "Limonene"
#: The split of the chapter: three strains to train on, one held out.
TRAIN, TEST = ("S1", "S2", "S3"), ("S4",)
#: Significant digits of the values in ``CSV`` (enough for noise of a few percent).
DIGITS = 6


def example_frame() -> pd.DataFrame:
    """The table of ``CSV``, made from the synthetic pathway: :data:`SETTINGS`, :data:`GAPS`."""
    frame = synthetic.generate(**SETTINGS)
    for strain, hour, column in GAPS:
        frame.loc[(frame["Strain"] == strain) & (frame["Hour"] == hour), column] = float("nan")
    return frame


def write_example(path: str | Path = CSV) -> Path:
    """Write :func:`example_frame` as a CSV (``DIGITS`` significant digits); returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with safeio.atomic_path(path) as tmp:  # whole or not at all
        example_frame().to_csv(tmp, index=False, float_format=f"%.{DIGITS}g")
    return path


def load_example(path: str | Path = CSV) -> data.Dataset:
    """The example CSV validated into a :class:`nodebio.data.Dataset` (units of the synthetic pathway)."""
    return data.load_csv(path, states=STATES, controls=CONTROLS, product=PRODUCT, units=synthetic.UNITS)


def copy_example(folder: str | Path) -> tuple[Path, Path]:
    """Copy ``CSV`` and ``REACTIONS`` into ``folder`` (created); returns the two copies."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(CSV, folder / CSV.name)), Path(shutil.copy(REACTIONS, folder / REACTIONS.name))


def true_fold_change(strain: str, changes: dict[str, float]) -> float:
    """The true effect of an intervention on a strain of the example: the product at 72 h with the
    enzymes of ``changes`` scaled (``{"HMGR": 2.0}``), over the unmodified strain's, noise-free."""
    pathway = synthetic.SyntheticPathway()
    strains = {s.name: s for s in pathway.sample_strains(SETTINGS["n_strains"], seed=SETTINGS["seed"])}
    if strain not in strains:
        raise UsageError(f"The example has strains {', '.join(strains)}, not {strain!r}.")
    base = pathway.simulate(strains[strain])[PRODUCT].iloc[-1]
    return float(pathway.simulate(strains[strain], scale=changes)[PRODUCT].iloc[-1] / base)


@dataclass
class Mistake:
    """A broken copy of the example: what was done, the file, and the column lists to load it with."""

    name: str
    change: str
    path: Path
    states: tuple[str, ...] = STATES
    controls: tuple[str, ...] = CONTROLS
    options: dict = field(default_factory=dict)

    def load(self) -> data.Dataset:
        """``nodebio.data.load_csv`` of the copy (raises the validator's error)."""
        return data.load_csv(self.path, states=self.states, controls=self.controls, **self.options)


def mistakes(folder: str | Path, source: str | Path = CSV) -> list[Mistake]:
    """Write one broken copy of ``source`` per common mistake into ``folder``; return them.

    A misspelt column name, a unit typed into a number column, a negative value, a duplicated
    row, rows out of time order within a strain, a time column with another name, and a strain
    with too few sampling times. Each makes :func:`nodebio.data.load_csv` raise a
    :class:`nodebio.data.DataValidationError` that names the column or the CSV line.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    frame = pd.read_csv(source, dtype={"Strain": str})
    made = []

    def write(name, change, table, **kwargs):
        path = folder / f"{name}.csv"
        with safeio.atomic_path(path) as tmp:
            table.to_csv(tmp, index=False)
        made.append(Mistake(name, change, path, **kwargs))

    def where(i):
        return f"{frame['Strain'].iloc[i]} at {frame['Hour'].iloc[i]:g} h, CSV line {i + 2}"

    write("misspelt-state", "the state Mevalonate is named 'Mevalonat' in the column list", frame,
          states=tuple("Mevalonat" if s == "Mevalonate" else s for s in STATES))
    typed = frame.astype({"Mevalonate": object})
    typed.loc[5, "Mevalonate"] = f"{typed.loc[5, 'Mevalonate']} uM"
    write("unit-in-a-cell", f"a unit typed after the number of Mevalonate ({where(5)})", typed)
    negative = frame.copy()
    negative.loc[3, "Acetyl-CoA"] = -0.02
    write("negative-value", f"a negative Acetyl-CoA, a baseline-subtracted value ({where(3)})", negative)
    write("duplicated-row", f"a row written twice ({where(13)}, and line {13 + 3})",
          pd.concat([frame.iloc[:14], frame.iloc[[13]], frame.iloc[14:]], ignore_index=True))
    order = list(range(len(frame)))
    order[2], order[3] = 3, 2
    write("unsorted-times", f"the rows of {frame['Strain'].iloc[2]} at {frame['Hour'].iloc[2]:g} and "
          f"{frame['Hour'].iloc[3]:g} h swapped", frame.iloc[order])
    write("time-column", "the time column headed 'Time (h)' instead of 'Hour'", frame.rename(columns={"Hour": "Time (h)"}))
    last = frame["Strain"].iloc[-1]
    short = frame[(frame["Strain"] != last) | (frame.groupby("Strain").cumcount() < 2)]
    write("too-few-times", f"strain {last} with two sampling times only", short)
    return made
