"""The registry and the verified download."""

from __future__ import annotations

import os
import shutil

import pytest

from nodebio import data


def test_registry_urls_are_pinned_to_the_commit():
    for entry in data.REGISTRY.values():
        assert data.SOURCE_COMMIT in entry.url()
        assert entry.url().endswith("/data/" + entry.name)
        assert len(entry.sha256) == 64


def test_present_file_with_right_hash_is_used_without_writing(limonene_path):
    folder = limonene_path.parent
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.iterdir()}
    path = data.fetch("limonene_data.csv", data_dir=folder, base_url="http://127.0.0.1:9/nowhere/")
    assert path == folder / "limonene_data.csv"
    after = {p.name: (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.iterdir()}
    assert before == after


def test_env_variable_sets_the_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(tmp_path / "here"))
    assert data.default_data_dir() == tmp_path / "here"


def test_corrupted_copy_is_refused_and_left_alone(tmp_path, limonene_path):
    copy = tmp_path / "limonene_data.csv"
    content = limonene_path.read_bytes()
    copy.write_bytes(content.replace(b"L1,0.0", b"L1,0.5", 1))
    with pytest.raises(data.DataIntegrityError) as info:
        data.fetch("limonene_data.csv", data_dir=tmp_path, base_url="http://127.0.0.1:9/")
    message = str(info.value)
    entry = data.REGISTRY["limonene_data.csv"]
    assert "limonene_data.csv" in message
    assert entry.sha256 in message
    assert "http://127.0.0.1:9/limonene_data.csv" in message
    assert "by hand" in message
    assert copy.read_bytes() != content  # untouched: not overwritten, not deleted


def test_failed_download_names_file_url_and_how_to_place_it(tmp_path):
    with pytest.raises(data.DataDownloadError) as info:
        data.fetch("isopentenol_data.csv", data_dir=tmp_path, base_url="http://127.0.0.1:9/")
    message = str(info.value)
    assert "isopentenol_data.csv" in message and "http://127.0.0.1:9/isopentenol_data.csv" in message
    assert data.REGISTRY["isopentenol_data.csv"].sha256 in message
    assert not (tmp_path / "isopentenol_data.csv").exists()


def test_download_verifies_the_hash(tmp_path, http_folder, limonene_path):
    served, url = http_folder
    shutil.copy(limonene_path, served / "limonene_data.csv")
    target = tmp_path / "cache"
    path = data.fetch("limonene_data.csv", data_dir=target, base_url=url)
    assert data.file_sha256(path) == data.REGISTRY["limonene_data.csv"].sha256


def test_download_with_wrong_bytes_is_refused_and_saves_nothing(tmp_path, http_folder):
    served, url = http_folder
    (served / "limonene_data.csv").write_text("Strain,Hour\nL1,0\n")
    target = tmp_path / "cache"
    with pytest.raises(data.DataIntegrityError) as info:
        data.fetch("limonene_data.csv", data_dir=target, base_url=url)
    assert data.REGISTRY["limonene_data.csv"].sha256 in str(info.value)
    assert not (target / "limonene_data.csv").exists()


def test_unknown_file_is_an_error():
    with pytest.raises(data.DataError, match="known files"):
        data.fetch("limonene.csv")


def test_load_works_offline_from_the_data_dir(limonene_path, monkeypatch):
    monkeypatch.setenv(data.DATA_DIR_ENV, str(limonene_path.parent))
    dataset = data.load("limonene")
    assert dataset.sha256 == data.REGISTRY["limonene_data.csv"].sha256
    assert os.fspath(limonene_path) == dataset.source


def test_a_device_or_pipe_in_place_of_a_data_file_is_refused_without_reading(tmp_path):
    (tmp_path / "limonene_data.csv").symlink_to("/dev/zero")  # reading it would never end
    with pytest.raises(data.DataIntegrityError, match="is not a regular file"):
        data.fetch("limonene_data.csv", data_dir=tmp_path, base_url="http://127.0.0.1:9/")
    os.mkfifo(tmp_path / "isopentenol_data.csv")  # opening it would block
    with pytest.raises(data.DataIntegrityError, match="is not a regular file"):
        data.fetch("isopentenol_data.csv", data_dir=tmp_path, base_url="http://127.0.0.1:9/")


def test_a_data_file_of_another_size_is_refused_before_hashing(tmp_path, monkeypatch):
    (tmp_path / "limonene_data.csv").write_bytes(b"x" * 10)
    monkeypatch.setattr(data.files, "file_sha256", lambda path: pytest.fail("hashed a file of the wrong size"))
    with pytest.raises(data.DataIntegrityError, match="has 10 bytes, expected"):
        data.fetch("limonene_data.csv", data_dir=tmp_path, base_url="http://127.0.0.1:9/")


def test_a_data_folder_that_is_a_file_does_not_blame_the_network(tmp_path, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("")
    monkeypatch.setenv(data.DATA_DIR_ENV, str(afile))
    with pytest.raises(data.DataError, match=r"afile \(\$NODEBIO_DATA_DIR\) is a file, not a folder"):
        data.fetch("limonene_data.csv", base_url="http://127.0.0.1:9/")
