"""bookbuild.formatting: black over the code cells of the chapters, markdown and options kept,
and every chapter of _toc.yml formatted at the book's line length."""

from __future__ import annotations

import pytest

import bookbuild as book
from bookbuild import formatting
from bookbuild.cli import main

from conftest import MYST_HEADER

CHAPTER = MYST_HEADER + '''
# A chapter

Prose with code-like text that stays as it is: x=[1,2,3] and a long line of markdown that is far longer than the line length of the book, on purpose.

```python
not_a_cell = {'left': 'as is'}
```

```{code-cell} ipython3
:tags: [parameters]

MODE = "full"          # "quick" or "full"
SEED = 0
DEVICE = "auto"
PATHWAY = "limonene"
```

```{code-cell} ipython3
:tags: [remove-input]
:mystnb:
:  figure:
:    caption: |
:      A caption, untouched.
:    name: fig-a

x = {'a':1,'b':2}
```

```{code-cell} ipython3
---
tags: [remove-cell]
---
glue_all({"first_value": 1, "second_value": 2, "third_value": 3, "fourth_value": 4, "fifth_value": 5})
```

````{solution-start} ex-a
:class: dropdown
````

```{code-cell} ipython3
result = some_function(argument_one=1, argument_two=2, argument_three=3, four=4)
```

````{solution-end}
````

```{code-cell} ipython3
%time y = 1
print(f"a long message that black cannot split, because it is one string literal of {SEED}")
```
'''


def test_format_rewrites_code_only_and_keeps_markdown_options_and_parameters(tmp_path):
    import jupytext

    formatted, changed, long = book.format_text(CHAPTER, "a.md")
    assert [c.number for c in changed] == [1, 2, 3, 4, 5]
    before, after = jupytext.reads(CHAPTER, fmt="md:myst"), jupytext.reads(formatted, fmt="md:myst")
    assert [c.cell_type for c in before.cells] == [c.cell_type for c in after.cells]
    for old, new in zip(before.cells, after.cells):
        assert old.metadata == new.metadata  # tags, the figure caption, the YAML options
        if old.cell_type == "markdown":
            assert old.source == new.source
    code = [c.source for c in after.cells if c.cell_type == "code"]
    assert code[0] == 'MODE = "full"  # "quick" or "full"\nSEED = 0\nDEVICE = "auto"\nPATHWAY = "limonene"'
    assert code[1] == 'x = {"a": 1, "b": 2}'
    assert code[2].startswith("glue_all(\n    {\n") and all(len(line) <= 76 for line in code[2].splitlines())
    # the solution's cell is folded at the dropdown's shorter length (the call is 77 characters)
    assert code[3].startswith("result = some_function(\n")
    assert code[4].startswith("%time y = 1\n")  # the magic is kept
    line = next(i for i, text in enumerate(formatted.split("\n"), 1) if "a long message" in text)
    assert long == [f"a.md:{line}: code cell 5 has a line of 89 characters (at most 76 fit the page); "
                    "break it by hand"]
    again, changed_again, _ = book.format_text(formatted)
    assert again == formatted and changed_again == []


def test_check_names_the_files_and_cells_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "a.md"
    path.write_text(CHAPTER)
    assert main(["format", "--check", str(path)]) == 1
    printed = capsys.readouterr().out
    assert f"{path}: would reformat code cells 1 (line 20), 2 (line 29), 3 (line 40)" in printed
    assert "code cell 5 has a line of 89 characters" in printed
    assert path.read_text() == CHAPTER
    assert main(["format", str(path)]) == 1  # formatted, but a line is still too long
    assert path.read_text() != CHAPTER
    assert "would reformat" not in (capsys.readouterr().out)
    path.write_text(path.read_text().replace("because it is one string literal of", "of"))
    assert main(["format", str(path)]) == 0
    assert main(["format", "--check", str(path)]) == 0


def test_a_cell_black_cannot_parse_is_named():
    text = "# T\n\n```{code-cell} ipython3\nx = 1\n```\n\n```{code-cell} ipython3\ndef broken(:\n```\n"
    with pytest.raises(book.ChapterError, match=r"b.md: black cannot format code cell 2 \(line 7\)"):
        book.format_text(text, "b.md")


def test_code_cells_are_found_with_their_options():
    lines = CHAPTER.split("\n")
    cells = formatting.code_cells(lines)
    assert len(cells) == 5
    assert lines[cells[2].start] == "glue_all({\"first_value\": 1, \"second_value\": 2, \"third_value\": 3, " \
                                    "\"fourth_value\": 4, \"fifth_value\": 5})"
    assert lines[cells[1].start] == "x = {'a':1,'b':2}"


def test_every_chapter_is_formatted():
    """``python -m bookbuild format`` leaves every chapter of _toc.yml as it is, with no line
    longer than fits the page."""
    changes, long = book.format_chapters(check=True)
    assert not changes and not long, (
        "run `python -m bookbuild format` and break the lines it reports by hand:\n"
        + "\n".join(formatting.describe(changes, check=True) + long))


def test_long_lines_of_hidden_cells_are_not_reported():
    """A cell tagged remove-input or remove-cell is not on the page: black formats it, and a
    string black cannot split does not overflow anything."""
    line = 'print("' + "x" * 80 + '")'
    for tags in ("[remove-input]", "[parameters, remove-cell]"):
        text = f"# T\n\n```{{code-cell}} ipython3\n:tags: {tags}\n\n{line}\n```\n"
        assert book.format_text(text)[2] == []
    shown = f"# T\n\n```{{code-cell}} ipython3\n:tags: [hide-input]\n\n{line}\n```\n"
    assert "code cell 1 has a line of 86 characters" in book.format_text(shown)[2][0]


def test_operators_that_open_a_line_are_not_magics():
    """Black breaks long conditions before their operators (``!= x`` opens a line); formatting
    its own output again must not take that line for a shell escape."""
    code = ("if (\n    options.get(\"state_scaling\", \"standardize\")\n    != \"standardize\"\n):\n"
            "    x = 1")
    assert formatting.format_code(code, 50) == code
    assert formatting.format_code("%time y = 1\n!ls\nif y != 2:\n    pass") == "%time y = 1\n!ls\nif y != 2:\n    pass"
