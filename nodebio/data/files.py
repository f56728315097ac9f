"""The data files of Costello & Garcia Martin (2018): a registry, a verified download, the data folder.

The four files of the study are listed in :data:`REGISTRY` with their public URL at a pinned
commit of the authors' repository and their sha256. :func:`fetch` returns the local path of a
file, downloading it with pooch only when it is missing; a file that is present with the right
hash is used as it is and nothing is written. The folder is :func:`default_data_dir`: the
environment variable ``NODEBIO_DATA_DIR`` when set, else a per-user cache folder.

The data are for academic and personal use only (the license of the source repository forbids
commercial use); nodebio downloads them from their source and never redistributes them.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from nodebio.errors import DataDownloadError, DataError, DataIntegrityError

__all__ = ["SOURCE_REPOSITORY", "SOURCE_COMMIT", "BASE_URL", "LICENSE_NOTE", "DATA_DIR_ENV", "REGISTRY",
           "DataFile", "default_data_dir", "file_sha256", "fetch", "fetch_all", "read_raw"]

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
    if folder.exists() and not folder.is_dir():
        named = "the data folder" if data_dir is not None else f"${DATA_DIR_ENV}"
        raise DataError(f"{folder} ({named}) is a file, not a folder: point it at the folder that holds {name}.")
    if path.exists() or path.is_symlink():
        import stat

        try:
            info = path.stat()
        except OSError as error:
            raise DataIntegrityError(f"{path} cannot be read ({error}). " + _how_to_place(entry, folder, base_url)) \
                from None
        if not stat.S_ISREG(info.st_mode):
            raise DataIntegrityError(f"{path} is not a regular file (a folder, a device or a pipe); it was left as it "
                                     "is. " + _how_to_place(entry, folder, base_url))
        if info.st_size != entry.size:
            raise DataIntegrityError(
                f"{path} has {info.st_size} bytes, expected {entry.sha256} of {entry.size} bytes ({name} from "
                f"{url}). The file is truncated "
                "or is another version; it was left as it is. Delete it to download it again. "
                + _how_to_place(entry, folder, base_url))
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

