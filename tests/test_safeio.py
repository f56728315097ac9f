"""Files written whole, signed pickles, and the identity of a lock's process."""

from __future__ import annotations

import os
import pickle

import pytest

from nodebio import safeio
from nodebio.errors import UntrustedFileError


def test_a_file_is_written_whole_or_not_at_all(tmp_path):
    path = tmp_path / "table.csv"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with safeio.atomic_path(path) as tmp:
            tmp.write_text("half")
            raise RuntimeError("interrupted")
    assert path.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]
    safeio.write_text(path, "new")
    assert path.read_text() == "new"


def test_a_link_is_replaced_never_written_through(tmp_path):
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("precious")
    link = tmp_path / "out.txt"
    link.symlink_to(elsewhere)
    safeio.write_text(link, "mine")
    assert elsewhere.read_text() == "precious" and not link.is_symlink() and link.read_text() == "mine"


def test_signed_pickles_round_trip_and_others_are_never_unpickled(tmp_path, monkeypatch):
    monkeypatch.setenv(safeio.SIGNING_KEY_ENV, str(tmp_path / "key"))
    path = tmp_path / "model.pkl"
    safeio.dump_signed({"a": 1}, path)
    assert safeio.load_signed(path) == {"a": 1}
    assert oct((tmp_path / "key").stat().st_mode & 0o777) == "0o600"
    monkeypatch.setenv(safeio.SIGNING_KEY_ENV, str(tmp_path / "another-key"))  # another account
    with pytest.raises(UntrustedFileError, match="was not signed with this account's key"):
        safeio.load_signed(path)
    path.write_bytes(pickle.dumps({"a": 1}))
    with pytest.raises(UntrustedFileError, match="is not a pickle signed by nodebio"):
        safeio.load_signed(path)


def test_a_key_that_cannot_be_made_names_the_variable(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("")
    monkeypatch.setenv(safeio.SIGNING_KEY_ENV, str(blocker / "key"))  # its folder is a file
    with pytest.raises(OSError, match=r"cannot read or make the signing key .*NODEBIO_SIGNING_KEY"):
        safeio.dump_signed(1, tmp_path / "x.pkl")


def test_a_process_is_known_by_its_id_and_start_time():
    me = safeio.process_identity()
    assert me.split()[0] == str(os.getpid()) and safeio.holder_alive(me)
    pid, start, boot = me.split()
    assert not safeio.holder_alive(f"{pid} {int(start) + 1} {boot}")  # the id reused by a later process
    assert not safeio.holder_alive(f"{pid} {start} another-boot")
    assert safeio.holder_alive(pid)  # a lock of the older format: the id alone
    assert not safeio.holder_alive("") and not safeio.holder_alive("x")
