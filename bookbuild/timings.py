"""Timing every chapter on a machine: the files of ``book/_timings/`` that the instructors' page
renders (``python -m bookbuild time``)."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

from bookbuild.execution import execute, hardware
from bookbuild.sources import ROOT

TIMINGS_DIR = ROOT / "book" / "_timings"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:60]


def record_timings(mode: str, label: str | None = None, note: str = "", extra: dict | None = None,
                   out_dir: Path = TIMINGS_DIR, toc: Path = ROOT / "_toc.yml", only: list[str] | None = None,
                   jobs: int | None = None) -> Path:
    """Execute every chapter (or the ``only`` ones) in ``mode`` and save the seconds of each to
    ``out_dir``.

    The file ``<label>-<mode>.json`` (``<label>-<mode>-<chapters>.json`` with ``only``) is stamped
    with the date, the hardware, the command and ``note`` (e.g. whether the machine was shared);
    the instructors' page renders these files. With ``jobs`` above 1 (default ``$NODEBIO_JOBS``)
    the book's fit plan runs first (:mod:`bookbuild.planning`): its seconds are kept under
    ``plan`` and counted in ``total_seconds``, and the chapters' seconds are then those of
    chapters that find the planned fits in the store.
    """
    build = ROOT / "_build" / f"timing-{mode}"
    seconds = execute(mode, build / "src", extra, only, toc=toc, jobs=jobs)
    plan = json.loads((build / "src" / "timings.json").read_text()).get("plan")
    info = hardware()
    label = label or _slug(f"{info['cuda_device'] or 'cpu'}-{info['logical_cores']}-cores")
    command = f"python -m bookbuild time --mode {mode}" + (f" --label {label}" if label else "")
    command += "".join(f" --only {name}" for name in only or [])
    command += f" --jobs {plan['jobs']}" if plan else ""
    record = {"label": label, "mode": mode, "date": datetime.date.today().isoformat(), "command": command,
              "note": note, "hardware": info, "parameters": {"MODE": mode, **(extra or {})},
              "seconds": seconds, "total_seconds": round(sum(seconds.values()) + (plan or {}).get("seconds", 0), 1)}
    if plan:
        record["plan"] = plan
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / (f"{label}-{mode}" + "".join(f"-{name}" for name in only or []) + ".json")
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def recorded_timings(directory: Path = TIMINGS_DIR) -> list[dict]:
    """The timing records saved by :func:`record_timings` (``python -m bookbuild time``)."""
    if not directory.is_dir():
        return []
    return [json.loads(p.read_text()) for p in sorted(directory.glob("*.json"))]

