"""The shape of a chapter (``CONTRIBUTING.md``), read from its MyST source.

Each ``*_problems`` function takes the text of a chapter and returns what breaks one
convention, one sentence per problem naming the exercise, the solution or the line (empty when
the chapter keeps it); ``tests/test_bookbuild_conventions.py`` runs them over the chapters of
``_toc.yml``. :func:`learning_objectives` is also what the instructors' page lists.

- a ``Learning objectives`` admonition directly after the title (:func:`objectives_problems`);
- every exercise titled with its grade, ``Predict:``, ``Measure:``, ``Implement:`` or
  ``Critique:``, and at least one ``Implement:`` (:func:`exercise_problems`);
- code in a solution only as executed cells between ``solution-start`` and ``solution-end``,
  never in a ``{solution}`` block nor as a fenced or indented block that is not executed
  (:func:`solution_problems`);
- every solution ending with its lesson, a paragraph that starts "The lesson:"
  (:func:`lesson_problems`);
- no private ``nodebio`` names (:func:`private_name_problems`).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

from bookbuild.formatting import code_cells

GRADES = ("Predict:", "Measure:", "Implement:", "Critique:")
OBJECTIVES = "Learning objectives"

_FENCE = re.compile(r"^(`{3,}|:{3,})\{([\w-]+)\}[ \t]*(.*?)\s*$")


@dataclass(frozen=True)
class Block:
    """A fenced directive of a chapter: name, argument (title), options, body, first line."""

    name: str
    argument: str
    options: dict
    body: list[str]
    line: int


def blocks(text: str) -> list[Block]:
    """The directives of ``text`` at the top level and nested in others (fences of 3+ backticks
    or colons), in order of their opening line."""
    lines = text.split("\n")
    return _blocks(lines, 0)


def _blocks(lines: list[str], offset: int) -> list[Block]:
    found, i = [], 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, name, argument = match.groups()
        j = i + 1
        while j < len(lines) and lines[j].rstrip() != fence:
            j += 1
        options, k = {}, i + 1
        while k < j and lines[k].startswith(":") and not lines[k].startswith(":::"):
            key, _, value = lines[k][1:].partition(":")
            options[key.strip()] = value.strip()
            k += 1
        body = lines[k:j]
        found.append(Block(name, argument, options, body, offset + i + 1))
        if name != "code-cell":
            found += _blocks(body, offset + k)
        i = j + 1
    return found


def learning_objectives(text: str) -> list[str] | None:
    """The bullets of the ``Learning objectives`` admonition that directly follows the title,
    or None when the title is not directly followed by one."""
    lines = text.split("\n")
    if lines and lines[0].strip() == "---":  # front matter
        end = next((i for i in range(1, len(lines)) if lines[i].strip() == "---"), 0)
        lines = lines[end + 1:]
    title = next((i for i, line in enumerate(lines) if line.startswith("# ")), None)
    if title is None:
        return None
    rest = lines[title + 1:]
    while rest and not rest[0].strip():
        rest.pop(0)
    if not rest:
        return None
    match = _FENCE.match(rest[0])
    if not match or match.group(2) != "admonition" or match.group(3) != OBJECTIVES:
        return None
    close = next((i for i in range(1, len(rest)) if rest[i].rstrip() == match.group(1)), len(rest))
    body = rest[1:close]
    bullets = []
    for line in body:
        if re.match(r"^[-*] ", line):
            bullets.append(line[2:].strip())
        elif line.startswith("  ") and bullets and line.strip():
            bullets[-1] += " " + line.strip()
    return bullets


def objectives_problems(text: str) -> list[str]:
    """A missing or empty ``Learning objectives`` admonition directly after the title."""
    objectives = learning_objectives(text)
    if objectives is None:
        return [f"the title is not directly followed by a ```{{admonition}} {OBJECTIVES}``` (CONTRIBUTING.md)"]
    if not objectives:
        return [f"the {OBJECTIVES} admonition has no bullets"]
    # the instructors' page and the student notebooks show the bullets as plain markdown
    return [f"the objective {o!r} holds a role ({m.group(0)}...): write it as plain text"
            for o in objectives for m in [re.search(r"\{[\w:-]+\}`", o)] if m]


def exercises(text: str) -> list[Block]:
    """The ``{exercise}`` and ``{exercise-start}`` directives of ``text``."""
    return [b for b in blocks(text) if b.name in ("exercise", "exercise-start")]


def exercise_problems(text: str) -> list[str]:
    """Exercises without a graded title, and a chapter without an ``Implement:`` exercise."""
    problems = []
    found = exercises(text)
    for block in found:
        label = block.options.get("label", f"at line {block.line}")
        if not block.argument.startswith(GRADES):
            problems.append(f"exercise {label} (line {block.line}) is titled {block.argument!r}: "
                            f"start its title with {', '.join(GRADES)}")
    if not any(b.argument.startswith("Implement:") for b in found):
        problems.append(f"no 'Implement:' exercise among the {len(found)} exercises (at least one wanted)")
    return problems


def _unexecuted_code(body: list[str]) -> list[int]:
    """Offsets in ``body`` of fenced code blocks that are not code cells (a fence with a language
    or none, ``{code}``, ``{code-block}``, ``{literalinclude}``) and of indented code blocks."""
    found, stack = [], []
    for i, line in enumerate(body):
        fence = re.match(r"^\s*(`{3,}|~{3,}|:{3,})(.*)$", line)
        if fence:
            marker, info = fence.group(1), fence.group(2).strip()
            if not info and stack and stack[-1] == marker:
                stack.pop()
                continue
            stack.append(marker)
            directive = info.startswith("{")
            if (not directive and not marker.startswith(":")) or info.startswith(("{code}", "{code-block}",
                                                                                  "{literalinclude}")):
                found.append(i)
            continue
        if (line.startswith("    ") and line.strip() and i > 0 and not body[i - 1].strip()
                and not _in_list(body[:i])):
            found.append(i)
    return found


def _in_list(before: list[str]) -> bool:
    """Whether the paragraph above (the last non-blank line) belongs to a list item."""
    for line in reversed(before):
        if not line.strip():
            continue
        return bool(re.match(r"^\s*([-*+]|\d+[.)])\s", line)) or line.startswith("  ")
    return False


def solution_problems(text: str) -> list[str]:
    """Code in a ``{solution}`` block, or code between ``solution-start`` and ``solution-end``
    that is not an executed cell."""
    problems = []
    for block in blocks(text):
        if block.name != "solution":
            continue
        offsets = _unexecuted_code(block.body)
        cells = [line for line in block.body if "{code-cell}" in line]
        if offsets or cells:
            problems.append(f"solution {block.argument} (line {block.line}) holds code "
                            f"(line {block.line + 1 + len(block.options) + (offsets or [0])[0]}): make it a "
                            "`solution-start`/`solution-end` pair around an executed `{code-cell}`")
    lines = text.split("\n")
    for start, line in enumerate(lines):
        match = _FENCE.match(line)
        if not match or match.group(2) != "solution-start":
            continue
        label = match.group(3)
        end = next((i for i in range(start + 1, len(lines)) if "{solution-end}" in lines[i]), None)
        if end is None:
            problems.append(f"solution-start {label} (line {start + 1}) has no solution-end")
            continue
        offsets = _unexecuted_code(_without_cells(lines[start:end]))
        if offsets:
            problems.append(f"solution {label} (line {start + 1}) has a code block that is not executed "
                            f"(line {start + 1 + offsets[0]}): make it a `{{code-cell}}`")
    return problems


LESSON = "The lesson:"


def lesson_problems(text: str) -> list[str]:
    """Solutions whose last paragraph does not start with ``The lesson:`` (the point of the
    exercise in a sentence, after the numbers: CONTRIBUTING.md)."""
    problems = []
    lines = text.split("\n")
    for block in blocks(text):
        if block.name == "solution":
            if not _last_paragraph(block.body).startswith(LESSON):
                problems.append(f"solution {block.argument} (line {block.line}) does not end with a "
                                f"paragraph that starts {LESSON!r}")
    for start, line in enumerate(lines):
        match = _FENCE.match(line)
        if not match or match.group(2) != "solution-start":
            continue
        end = next((i for i in range(start + 1, len(lines)) if "{solution-end}" in lines[i]), None)
        if end is None:
            continue  # solution_problems reports it
        if not _last_paragraph(_cells_as_marks(lines[start:end])).startswith(LESSON):
            problems.append(f"solution {match.group(3)} (line {start + 1}) does not end with a paragraph "
                            f"that starts {LESSON!r} before its solution-end")
    return problems


def _cells_as_marks(lines: list[str]) -> list[str]:
    """``lines`` with each code cell replaced by a paragraph of its own (``[code cell]``)."""
    out = _without_cells(lines)
    for cell in code_cells(lines):
        out[cell.line - 1] = "[code cell]"
    return out


def _last_paragraph(lines: list[str]) -> str:
    paragraphs = " ".join(line.strip() if line.strip() else "\n" for line in lines).split("\n")
    paragraphs = [p.strip() for p in paragraphs if p.strip()]
    return paragraphs[-1] if paragraphs else ""


def _without_cells(lines: list[str]) -> list[str]:
    """``lines`` with the code of every code cell blanked out (so it is not taken for markdown)."""
    out = list(lines)
    for cell in code_cells(lines):
        for i in range(cell.line - 1, cell.stop + 1):
            out[i] = ""
    return out


_PRIVATE_PATH = re.compile(r"\bnodebio(?:\.\w+)*\._[A-Za-z]\w*")


def private_name_problems(text: str) -> list[str]:
    """Private ``nodebio`` names in the chapter's code cells and prose.

    The rule: a name that starts with one underscore (``_x``, not ``__x__``) is private to the
    module or class that defines it. A chapter may use it only when it defines it itself (a
    function, class, attribute or variable of the chapter's own code, e.g. ``self._cache``
    assigned in a class of the chapter). Flagged are: module paths ``nodebio.x._y`` anywhere in
    the text, ``from nodebio... import _y``, and attribute access ``obj._y`` in a code cell where
    the chapter defines no ``_y``: the object is then the package's (or a library's, equally
    private).
    """
    lines = text.split("\n")
    problems = [f"line {i + 1}: private name {m.group(0)}" for i, line in enumerate(lines)
                for m in _PRIVATE_PATH.finditer(line)]
    trees = []
    for cell in code_cells(lines):
        try:
            trees.append((cell, ast.parse("\n".join(lines[cell.start:cell.stop]))))
        except SyntaxError:
            continue
    defined = set()
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                defined.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                defined.add(node.attr)
    for cell, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "nodebio":
                names = [a.name for a in node.names if _private(a.name)]
                problems += [f"code cell at line {cell.line}: `from {node.module} import {n}` is private" for n in names]
            elif isinstance(node, ast.Attribute) and _private(node.attr) and node.attr not in defined:
                problems.append(f"code cell at line {cell.line}: `.{node.attr}` is private "
                                "(not defined by the chapter): use or add a public name in nodebio")
    return sorted(set(problems), key=problems.index)


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__") and name != "_"
