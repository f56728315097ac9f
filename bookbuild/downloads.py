"""The results of a build, downloadable from the site: one zip of the executed chapters, their
tables and their glued numbers, linked from the instructors' page.

:func:`bookbuild.html` writes it into the build tree (``book/results/nodebio-results.zip``)
before jupyter-book runs; the instructors' page links it with a ``{download}`` role, so Sphinx
publishes it under ``_downloads/``. ``make book`` builds in full mode, so the published site
offers the full-mode results, which take the longest to compute (``book/_timings/``). The zip
holds:

- ``notebooks/<chapter>.ipynb``: every executed chapter, outputs included;
- ``tables/<chapter>-<n>.csv``: every table a chapter displays (a pandas ``DataFrame`` output),
  numbered in the order of the chapter;
- ``glued.json``: every number and sentence the chapters glue into their prose, by chapter;
- ``build.json``: the mode, parameters, hardware and seconds of the build (``timings.json``).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

RESULTS = Path("book") / "results" / "nodebio-results.zip"   # relative to the build tree
GLUE_MIME = "application/papermill.record/text/plain"


def glued_values(notebook: dict) -> dict[str, str]:
    """The values glued in an executed notebook (``nodebio.report.glue_all``), as shown in the text."""
    values = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            if name and GLUE_MIME in output.get("data", {}):
                text = output["data"][GLUE_MIME]
                values[name] = text.strip("'\"") if isinstance(text, str) else "".join(text)
    return values


def tables(notebook: dict) -> list[list[list[str]]]:
    """The tables displayed by a notebook (HTML outputs with a ``<table class="dataframe">``),
    each as rows of cell texts, the header rows first."""
    from bs4 import BeautifulSoup

    found = []
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            html = output.get("data", {}).get("text/html")
            if not html:
                continue
            html = html if isinstance(html, str) else "".join(html)
            for table in BeautifulSoup(html, "html.parser").find_all("table", class_="dataframe"):
                found.append([[" ".join(c.get_text(" ").split()) for c in row.find_all(["th", "td"])]
                              for row in table.find_all("tr")])
    return found


def collect_results(src: Path, target: Path | None = None) -> Path:
    """Write the zip of the executed build tree ``src`` (see the module docstring); returns its path."""
    src = Path(src)
    target = Path(target) if target else src / RESULTS
    notebooks = sorted(p for p in (src / "book").glob("*.ipynb"))
    if not notebooks:
        raise FileNotFoundError(f"no executed chapters in {src / 'book'}: run `python -m bookbuild execute` first")
    target.parent.mkdir(parents=True, exist_ok=True)
    glued = {}
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in notebooks:
            notebook = json.loads(path.read_text())
            archive.write(path, f"notebooks/{path.name}")
            glued[path.stem] = glued_values(notebook)
            for number, rows in enumerate(tables(notebook), 1):
                text = io.StringIO()
                csv.writer(text).writerows(rows)
                archive.writestr(f"tables/{path.stem}-{number}.csv", text.getvalue())
        archive.writestr("glued.json", json.dumps(glued, indent=2) + "\n")
        if (src / "timings.json").is_file():
            archive.write(src / "timings.json", "build.json")
    return target
