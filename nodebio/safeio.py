"""Files written whole, pickles that cannot run code they did not write, and locks that outlive pid reuse.

* :func:`atomic_path` and :func:`write_text`: every output file of the package is written to a
  temporary name in its own folder (``.NAME.<pid>-<random>.part<suffix>``, created with
  ``O_EXCL | O_NOFOLLOW``) and renamed over ``NAME`` only when complete: a reader, or a process
  killed while writing, never leaves or sees half a file, and a symbolic link at ``NAME`` is
  replaced by the file, never written through.
* :func:`dump_signed` and :func:`load_signed`: scikit-learn models (a run's ``model.pkl``, the
  model store's ``.pkl`` entries) are pickles, and unpickling runs whatever code a pickle names.
  They are written with an HMAC-SHA256 of their bytes keyed by a secret of the user
  (:func:`signing_key`: the file ``$NODEBIO_SIGNING_KEY``, else
  ``$XDG_CONFIG_HOME/nodebio/signing.key`` or ``~/.config/nodebio/signing.key``, 32 random bytes
  made on first use, mode 0600), and read only when the HMAC matches: a pickle made anywhere else
  (received with a run folder or a store) is refused with :class:`~nodebio.errors.UntrustedFileError` before a
  byte of it is unpickled.
* :func:`process_identity` and :func:`holder_alive`: a lock file records its process's id *and*
  start time (``/proc/<pid>/stat``, with the boot id); a live process with the same id but
  another start time is not the holder (the id was reused) and its lock is stale.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import pickle
import secrets
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from nodebio.errors import UntrustedFileError

__all__ = ["atomic_path", "write_text", "write_bytes", "dump_signed", "load_signed", "signing_key",
           "SIGNING_KEY_ENV", "process_identity", "holder_alive"]

#: The environment variable naming the file of the signing key (see the module docstring).
SIGNING_KEY_ENV = "NODEBIO_SIGNING_KEY"
_MAGIC = b"nodebio-signed-pickle-1\n"


def _temporary(path: Path) -> Path:
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(4)}.part{path.suffix}")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary path beside ``path`` (same suffix, so writers that infer a format
    from it work); when the block ends without an exception, rename it over ``path``; else remove it
    (an ``OSError``, such as a full disk, is raised again naming ``path``).

    The temporary file is created empty with ``O_CREAT | O_EXCL | O_NOFOLLOW`` (no other process
    or link can own that name), and the rename replaces a symbolic link at ``path`` itself.
    """
    path = Path(path)
    tmp = _temporary(path)
    descriptor = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), 0o644)
    os.close(descriptor)
    try:
        yield tmp
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        # the file named is the one asked for, not the temporary name: "No space left on device: PATH"
        raise type(error)(error.errno, error.strerror or str(error), str(path)) from error
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` whole (:func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def write_bytes(path: str | os.PathLike, payload: bytes) -> Path:
    """Write ``payload`` to ``path`` whole (:func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(payload)
    return Path(path)


def _key_file() -> Path:
    named = os.environ.get(SIGNING_KEY_ENV)
    if named:
        return Path(named)
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "nodebio" / "signing.key"


def _make_key(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    candidate = _temporary(path)
    descriptor = os.open(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(secrets.token_bytes(32))
    try:
        os.link(candidate, path)  # fails if another process made the key meanwhile: use theirs
    except FileExistsError:
        pass
    finally:
        candidate.unlink(missing_ok=True)


def signing_key() -> bytes:
    """The user's secret key for :func:`dump_signed` (made on first use; see the module docstring)."""
    path = _key_file()
    try:
        try:
            key = path.read_bytes()
        except FileNotFoundError:
            _make_key(path)
            key = path.read_bytes()
    except OSError as error:
        raise type(error)(error.errno, f"cannot read or make the signing key {path} ({error.strerror or error}); "
                                       f"point ${SIGNING_KEY_ENV} at a file path you can write") from error
    if len(key) < 16:
        raise UntrustedFileError(f"The signing key {path} is too short ({len(key)} bytes); remove it (a new one is "
                                 f"made) or point ${SIGNING_KEY_ENV} at another file.")
    return key


def _mac(payload: bytes) -> bytes:
    return hmac.new(signing_key(), payload, hashlib.sha256).hexdigest().encode()


def dump_signed(obj, path: str | os.PathLike) -> Path:
    """Pickle ``obj`` to ``path`` (whole) with the HMAC of the user's key."""
    payload = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    return write_bytes(path, _MAGIC + _mac(payload) + b"\n" + payload)


def load_signed(path: str | os.PathLike):
    """The object of a pickle written by :func:`dump_signed` with this user's key; raises
    :class:`~nodebio.errors.UntrustedFileError` (nothing unpickled) for any other file."""
    path = Path(path)
    blob = path.read_bytes()
    if not blob.startswith(_MAGIC):
        raise UntrustedFileError(
            f"{path} is not a pickle signed by nodebio on this account (an unsigned pickle, made elsewhere or by an "
            "older version): it is not opened, since unpickling can run any code. Make it again here (train the run "
            "again).")
    mac, _, payload = blob[len(_MAGIC):].partition(b"\n")
    if not hmac.compare_digest(mac, _mac(payload)):
        raise UntrustedFileError(
            f"{path} was not signed with this account's key ({_key_file()}): it was made elsewhere or changed, and is "
            "not opened, since unpickling can run any code. Make it again here (train the run again).")
    return pickle.loads(payload)


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_time(pid: int) -> str | None:
    """The start time of process ``pid`` in clock ticks since boot (``/proc/<pid>/stat`` field 22)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]  # fields after the command name start at field 3


def process_identity(pid: int | None = None) -> str:
    """``pid start-time boot-id`` of a process (this one by default): what a lock file records."""
    pid = os.getpid() if pid is None else pid
    return f"{pid} {_start_time(pid) or '-'} {_boot_id() or '-'}"


def holder_alive(identity: str) -> bool:
    """Whether the process a lock file names (:func:`process_identity`, or a bare pid of older
    locks) is still the one that wrote it: alive, and, where recorded, with the same start time
    and boot."""
    fields = identity.split()
    if not fields or not fields[0].isdigit():
        return False
    pid = int(fields[0])
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    if len(fields) >= 3:
        start, boot = fields[1], fields[2]
        if boot != "-" and _boot_id() and boot != _boot_id():
            return False  # written before a reboot
        now = _start_time(pid)
        if start != "-" and now is not None and now != start:
            return False  # the id was reused by another process
    return True
