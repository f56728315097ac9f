"""Every exception of the package, and the helpers that word errors about names.

The package raises its own exceptions for mistakes a user can fix; each message names the column,
row, strain, protein or file at fault and says how to fix it. Every one derives from
:class:`NodebioError`, and also from the builtin type a caller would expect (``ValueError`` for bad
input, ``RuntimeError`` for a failed computation), so ``except ValueError`` keeps working.

The command line relies on that base: a :class:`NodebioError` (or an ``OSError`` that names its
file) is printed as one ``error:`` line with exit status 2; anything else is a bug of the package
and is printed with its traceback and a request to report it. So a builtin ``ValueError`` raised
inside the package is a bug by definition: raise :class:`UsageError` (a wrong argument or option)
or a more specific class instead.

* :class:`UsageError`: an argument or option of a call that cannot be used (unknown name, value
  out of range, options that do not go together).

* :class:`DataError` and its subclasses: the data layer (downloads, hashes, tables).
* :class:`SolverError`: an ODE solve failed or diverged.
* :class:`TrainingDivergedError`: training stopped on a failed solve or a non-finite loss.
* :class:`CheckpointMismatchError`: a checkpoint or run folder does not fit the data it is used with.
* :class:`DeviceError`: the requested device is not available.
* :class:`DataWarning`: data that load but look wrong.
* :class:`OutputPathError`, :class:`RunExistsError`, :class:`RunLockedError`: an output path that
  cannot be written, or would replace a run without being asked to, or that another process writes.

:func:`unknown_message` words "unknown name, did you mean ..." for any kind of name;
:func:`check_names` compares two lists of feature names.
"""

from __future__ import annotations

import difflib
from typing import Sequence

__all__ = [
    "NodebioError",
    "UsageError",
    "UncalibratedIntervalsError",
    "NotFittedError",
    "MissingFileError",
    "SBMLError",
    "CommandError",
    "DataError",
    "DataIntegrityError",
    "DataDownloadError",
    "DataValidationError",
    "SolverError",
    "TrainingDivergedError",
    "CheckpointMismatchError",
    "DeviceError",
    "DataWarning",
    "OutputPathError",
    "RunExistsError",
    "RunLockedError",
    "UntrustedFileError",
    "StoreError",
    "IncompleteRunError",
    "unknown_message",
    "check_options",
    "check_names",
]


class NodebioError(Exception):
    """Base class of every exception the package raises on purpose (see the module docstring)."""


class UsageError(NodebioError, ValueError):
    """An argument or option that cannot be used; the message names it and says what would do."""


class UncalibratedIntervalsError(UsageError):
    """Intervals that would rest on fewer inner held-out scores than their level needs
    (:func:`nodebio.calibration.scores_needed`); ``force=True`` (``--force``) uses them anyway,
    labelled as not calibrated."""


class NotFittedError(NodebioError, RuntimeError):
    """A model was used before ``fit`` (or ``load``)."""


class MissingFileError(NodebioError, FileNotFoundError):
    """A file the call needs (a checkpoint, a run's model) is not there; the message names it."""


class SBMLError(NodebioError, RuntimeError):
    """libsbml could not build or read an SBML document; the message names the element."""


class CommandError(NodebioError, RuntimeError):
    """A ``nodebio`` command run by ``nodebio.cli.run_command`` (the chapters) failed, or
    succeeded where a failure was expected; the message holds its output."""


class DataError(NodebioError):
    """Base class of the data layer's errors."""


class DataIntegrityError(DataError, ValueError):
    """A file does not have the sha256 of the registry."""


class DataDownloadError(DataError, RuntimeError):
    """A file could not be downloaded."""


class DataValidationError(DataError, ValueError):
    """A table is malformed; the message names the column or row and how to fix it."""


class DataWarning(UserWarning):
    """Data that load but look wrong (a time span far from the experiment's, a value orders of
    magnitude above the rest of its column); the message says what to check."""


class SolverError(NodebioError, RuntimeError):
    """The ODE solver failed (step size underflow, too many steps) or produced NaN/inf."""


class TrainingDivergedError(NodebioError, RuntimeError):
    """Training stopped because the solver failed or the loss was not finite."""


class CheckpointMismatchError(NodebioError, ValueError):
    """A checkpoint does not fit the data it is used with."""


class DeviceError(NodebioError, RuntimeError):
    """The requested device is not available."""


class OutputPathError(NodebioError, ValueError):
    """An output path is not usable (a file where a folder is needed, a folder that cannot be
    written, a file of a run that would be overwritten); checked before any work."""


class RunExistsError(NodebioError, FileExistsError):
    """The output folder already holds a run (or the staging folder an interrupted one)."""


class RunLockedError(NodebioError, RuntimeError):
    """Another process is writing the same run folder."""


def unknown_message(what: str, unknown: Sequence[str], known: Sequence[str]) -> str:
    """``Unknown strain: 'L4' (did you mean 'L1'?). Available: L1, L2, L3.``: for any kind of name."""
    parts = []
    for name in unknown:
        close = difflib.get_close_matches(str(name), [str(k) for k in known], n=1)
        parts.append(f"{name!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
    return (
        f"Unknown {what}{'s' if len(unknown) > 1 else ''}: {', '.join(parts)}. "
        f"Available: {', '.join(map(str, known))}."
    )


def check_options(known: Sequence[str], given, what: str) -> None:
    """Raise :class:`UsageError` naming the options of ``given`` that are not ``known`` (with the
    closest known name), e.g. ``check_options(["seed", "quick"], {"sed": 1}, "option of the model 'kinetic'")``."""
    unknown = [name for name in given if name not in known]
    if unknown:
        raise UsageError(unknown_message(what, unknown, known))


def check_names(expected: Sequence[str], got: Sequence[str], what: str) -> None:
    """Raise :class:`UsageError` naming the difference between two lists of feature names."""
    if tuple(expected) != tuple(got):
        missing = [n for n in expected if n not in got]
        extra = [n for n in got if n not in expected]
        detail = []
        if missing:
            detail.append(f"missing {', '.join(missing)}")
        if extra:
            detail.append(f"unexpected {', '.join(extra)}")
        if not detail:
            detail.append(f"same names in another order ({', '.join(got)} instead of {', '.join(expected)})")
        raise UsageError(f"The {what} do not match the model's: {'; '.join(detail)}.")


class UntrustedFileError(NodebioError, ValueError):
    """A pickled model that this account's key did not sign (made elsewhere, edited, or written by an
    older version): it is refused before a byte is unpickled, since unpickling can run code."""


class StoreError(OutputPathError):
    """The model store's folder (``NODEBIO_STORE``) cannot be used: a file where a folder is needed."""


class IncompleteRunError(CheckpointMismatchError, FileNotFoundError):
    """A run folder lacks files its ``run.json`` lists (an interrupted copy, a deleted member)."""
