"""bookbuild.downloads: the zip of a build's results (executed chapters, tables, glued numbers)."""

from __future__ import annotations

import csv
import io
import json
import zipfile

import nbformat
import pandas as pd
import pytest

from bookbuild import downloads


def executed_chapter() -> nbformat.NotebookNode:
    table = pd.DataFrame({"model": ["node", "baseline"], "rmse": [0.25, 0.5]}).set_index("model")
    glue = nbformat.v4.new_output("display_data", data={downloads.GLUE_MIME: "'0.25'"},
                                  metadata={"scrapbook": {"name": "best_rmse", "mime_prefix": "x"}})
    shown = nbformat.v4.new_output("execute_result", data={"text/html": table.to_html(),
                                                          "text/plain": str(table)}, execution_count=2)
    cells = [nbformat.v4.new_code_cell("glue", outputs=[glue]), nbformat.v4.new_code_cell("table", outputs=[shown])]
    return nbformat.v4.new_notebook(cells=cells)


def test_collect_results_zips_notebooks_tables_glued_values_and_the_record(tmp_path):
    (tmp_path / "book").mkdir()
    nbformat.write(executed_chapter(), tmp_path / "book" / "compare.ipynb")
    (tmp_path / "timings.json").write_text(json.dumps({"mode": "full", "seconds": {"book/compare.md": 1.0}}))
    path = downloads.collect_results(tmp_path)
    assert path == tmp_path / downloads.RESULTS
    with zipfile.ZipFile(path) as archive:
        assert set(archive.namelist()) == {"notebooks/compare.ipynb", "tables/compare-1.csv", "glued.json",
                                           "build.json"}
        assert json.loads(archive.read("glued.json")) == {"compare": {"best_rmse": "0.25"}}
        rows = list(csv.reader(io.StringIO(archive.read("tables/compare-1.csv").decode())))
        assert rows[0] == ["", "rmse"] and rows[-1] == ["baseline", "0.50"]
        assert json.loads(archive.read("build.json"))["mode"] == "full"


def test_collect_results_needs_executed_chapters(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m bookbuild execute"):
        downloads.collect_results(tmp_path)
