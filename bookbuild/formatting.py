"""Formatting the code cells of the MyST chapters with black (``python -m bookbuild format``).

Only the code of ``{code-cell}`` blocks is rewritten: the markdown, the cells' options (tags,
``mystnb`` figure captions, a YAML options block) and the blank line between options and code
are kept byte for byte, cell by cell, so a chapter's diff shows nothing but its reformatted code.
A cell black cannot parse is an error naming the chapter, the cell and its line.

The line lengths are what fits a code cell of the built page without horizontal scrolling,
measured with headless Chromium at the browser test's window size (``tests/test_browser.py``:
1280 x 1000 px, sphinx-book-theme's desktop layout with both sidebars). The ``pre`` of a code
cell is 684 px wide, 652 px inside its padding of 16 px a side, and its monospace font (14 px)
sets 8.43 px a character: 77 characters fit (649 px). A cell between ``solution-start`` and
``solution-end`` sits in the dropdown's frame: unfolded, its ``pre`` is 617 px wide, 585 px
inside, so 69 characters fit (582 px). :data:`LINE_LENGTH` (76) and
:data:`SOLUTION_LINE_LENGTH` (68) keep one character of slack for a font a little wider than
the one the measurement found. The browser test checks the result on every page.

Black does not split long strings or comments; a line it leaves longer than the length in a
cell the page shows (not tagged ``remove-cell`` or ``remove-input``) is reported
(:func:`format_text`), to be broken by hand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from bookbuild.sources import ROOT, ChapterError, chapters, is_notebook

LINE_LENGTH = 76
SOLUTION_LINE_LENGTH = 68

_START = re.compile(r"^(`{3,})\{code-cell\}[^\n]*$")
# IPython magics and shell escapes that black cannot parse: masked by a placeholder statement
# of the same indentation while black runs, then put back.
_MAGIC = re.compile(r"^(\s*)((?:%%?[A-Za-z]|!(?!=)).*)$")


@dataclass(frozen=True)
class Cell:
    """A code cell of a chapter: its number (1-based, code cells only), the line of its
    ``{code-cell}`` fence (1-based), and the line range of its code in the file's lines."""

    number: int
    line: int
    start: int
    stop: int
    tags: tuple[str, ...] = ()

    @property
    def shown(self) -> bool:
        """Whether the page shows the cell's code (it is not tagged ``remove-cell``/``remove-input``)."""
        return not {"remove-cell", "remove-input"} & set(self.tags)


def code_cells(lines: list[str]) -> list[Cell]:
    """The code cells of a MyST chapter given as its lines (without line ends)."""
    cells, i = [], 0
    while i < len(lines):
        match = _START.match(lines[i])
        if not match:
            i += 1
            continue
        fence, first = match.group(1), i
        i += 1
        if i < len(lines) and lines[i].strip() == "---":  # a YAML block of options
            i += 1
            while i < len(lines) and lines[i].strip() != "---":
                i += 1
            i += 1
        while i < len(lines) and lines[i].startswith(":"):  # short options (:tags: ...)
            i += 1
        if i > first + 1:
            while i < len(lines) and not lines[i].strip():  # blank lines after the options
                i += 1
        start = i
        while i < len(lines) and lines[i].rstrip() != fence:
            i += 1
        if i == len(lines):
            raise ChapterError(f"the code cell at line {first + 1} is not closed by {fence}")
        tags = re.search(r"(?m)^:?tags:\s*\[(.*?)\]", "\n".join(lines[first + 1:start]))
        tags = tuple(t.strip().strip("'\"") for t in tags.group(1).split(",")) if tags else ()
        cells.append(Cell(len(cells) + 1, first + 1, start, i, tags))
        i += 1
    return cells


def format_code(code: str, line_length: int = LINE_LENGTH) -> str:
    """``code`` formatted by black at ``line_length``, IPython magics kept as they are.

    Plain Python is formatted as it is; only code black cannot parse has its magic lines
    (``%time ...``, ``%%capture``, ``!pip ...``) masked, so an operator that opens a line inside
    brackets (``!= x``, ``% n``, as black itself writes them) is never taken for one.
    """
    import black

    mode = black.Mode(line_length=line_length)
    try:
        return black.format_str(code, mode=mode).rstrip("\n")
    except black.parsing.InvalidInput:
        pass
    masked, magics = [], {}
    for line in code.split("\n"):
        match = _MAGIC.match(line)
        if match:
            name = f"__bookbuild_magic_{len(magics)}__"
            magics[name] = match.group(2)
            line = f"{match.group(1)}{name} = 0"
        masked.append(line)
    text = black.format_str("\n".join(masked), mode=mode)
    for name, magic in magics.items():
        text = re.sub(rf"{name} = 0", lambda _: magic, text)
    return text.rstrip("\n")


def _solution_lines(lines: list[str]) -> set[int]:
    """Indices of the lines between a ``{solution-start}`` and its ``{solution-end}``."""
    inside, start = set(), None
    for i, line in enumerate(lines):
        if "{solution-start}" in line:
            start = i
        elif "{solution-end}" in line and start is not None:
            inside.update(range(start, i))
            start = None
    return inside


def format_text(text: str, name: str = "chapter") -> tuple[str, list[Cell], list[str]]:
    """The chapter ``text`` with its code cells formatted, the cells that changed, and the lines
    that are still too long (black does not split strings and comments), one sentence each."""
    lines = text.split("\n")
    solutions = _solution_lines(lines)
    changed, long, out, done = [], [], [], 0
    for cell in code_cells(lines):
        code = "\n".join(lines[cell.start:cell.stop])
        if not code.strip():
            continue
        width = SOLUTION_LINE_LENGTH if cell.start in solutions else LINE_LENGTH
        try:
            formatted = format_code(code, width)
        except Exception as error:  # black's InvalidInput and its parser's errors
            raise ChapterError(f"{name}: black cannot format code cell {cell.number} (line {cell.line}): "
                               f"{str(error).splitlines()[0]}; fix its syntax by hand") from None
        new = formatted.split("\n")
        first = len(out) + cell.start - done + 1  # line number of the cell's first code line after formatting
        if cell.shown:
            long += [f"{name}:{first + i}: code cell {cell.number} has a line of {len(line)} characters "
                     f"(at most {width} fit the page); break it by hand"
                     for i, line in enumerate(new) if len(line) > width]
        out += lines[done:cell.start] + new
        done = cell.stop
        if formatted != code:
            changed.append(cell)
    out += lines[done:]
    return "\n".join(out), changed, long


def format_chapters(files: list[Path] | None = None,
                    check: bool = False) -> tuple[dict[Path, list[Cell]], list[str]]:
    """Format the code cells of ``files`` (default: every notebook chapter of ``_toc.yml``).

    Returns the cells that changed (with ``check``, that would change: nothing is written) by
    file, files without changes left out, and the lines still too long after formatting.
    """
    files = [Path(f) for f in files] if files else [c for c in chapters() if is_notebook(c)]
    changes, long = {}, []
    for path in files:
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist: name a chapter source such as book/data.md")
        formatted, changed, too_long = format_text(path.read_text(), _name(path))
        long += too_long
        if changed:
            changes[path] = changed
            if not check:
                path.write_text(formatted)
    return changes, long


def describe(changes: dict[Path, list[Cell]], check: bool) -> list[str]:
    """One line per file and the cells of it that are (or were) not formatted."""
    verb = "would reformat" if check else "reformatted"
    return [f"{_name(path)}: {verb} code cells " + ", ".join(f"{c.number} (line {c.line})" for c in cells)
            for path, cells in changes.items()]


def _name(path: Path) -> str:
    path = Path(path).resolve()
    return str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path)
