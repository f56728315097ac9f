"""The pinned environment: ``requirements.lock`` and the ``environment.yml`` generated from it
(``python -m bookbuild environment-file``)."""

from __future__ import annotations

import sys
from pathlib import Path

from bookbuild.sources import ROOT


def lock_requirements(lock: Path = ROOT / "requirements.lock") -> list[str]:
    """The pinned requirement lines of the lock file."""
    return [line.strip() for line in lock.read_text().splitlines()
            if line.strip() and not line.strip().startswith("#")]


def environment_file(path: Path = ROOT / "environment.yml") -> None:
    """Write environment.yml for conda users: python plus the lock's pins in a pip section."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    lines = [
        "# Generated from requirements.lock by `make env-file`; a test checks that they agree.",
        "name: nodebio",
        "channels:",
        "  - conda-forge",
        "dependencies:",
        f"  - python={version}",
        "  - pip",
        "  - pip:",
        *[f"      - {req}" for req in lock_requirements()],
        "      - -e .",
        "",
    ]
    path.write_text("\n".join(lines))

