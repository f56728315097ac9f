"""The student edition and the instructors' key: the executed chapters as notebooks a reader can
open in Jupyter, Colab or Binder.

The chapters are MyST notebooks whose prose holds markup only Sphinx understands: glued values
(``{glue:text}`key```), exercise and solution directives, cross-references, citations and glossary
terms. Opened in Jupyter, that markup shows as literal text and every solution is in plain sight.
:func:`write_editions` (run by :func:`bookbuild.html` after jupyter-book) turns every executed
chapter of a build tree into:

- a **student notebook** (``_student/book/<chapter>.ipynb`` in the site, the notebook of the
  chapter's download and launch buttons): every glued value written into the prose as the text
  the page shows, exercises as plain markdown ("**Exercise 2. Predict: ...**"), the other
  directives and roles rendered as markdown (a reference by its title, a citation by its authors
  and year, a term by its word), solution text and solution cells removed, outputs cleared;
- an **instructors' key** (``_instructor/book/<chapter>.ipynb``, linked from the instructors' page
  only): the same notebook with each solution kept after its exercise, and the outputs of the
  build (figures, tables) but papermill's and myst-nb's records.

Both keep every code cell the chapter runs (the cells hidden on the page too: they compute what
the prose glues), with the chapter's ``parameters`` cell, so that papermill can run them in
quick mode; papermill's injected cell of the build is dropped. The install cell is kept only
where ``_config.yml`` says the repository is public (:func:`bookbuild.sources.public_repository`).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from bookbuild.sources import EXECUTED_KEY, INSTALL_TAG, PARAMETER_NAMES, ChapterError, public_repository

STUDENT_DIR = "_student"          # relative to the HTML root
INSTRUCTOR_DIR = "_instructor"
# pages that are not chapters a student works through (the instructors' page is about the key)
NOT_FOR_STUDENTS = ("instructors",)

_FENCE = re.compile(r"^(`{3,}|:{3,})\{([\w:-]+)\}[ \t]*(.*?)\s*$")
_ROLE = re.compile(r"\{([\w:-]+)\}`([^`]*)`")
_TARGET = re.compile(r"^\(([\w.-]+)\)=\s*$")
_ADMONITIONS = {"note": "Note", "tip": "Tip", "hint": "Hint", "important": "Important", "warning": "Warning",
                "caution": "Caution", "attention": "Attention", "danger": "Danger", "error": "Error",
                "seealso": "See also"}


def _text(source) -> str:
    return source if isinstance(source, str) else "".join(source)


def glued_texts(notebook: dict) -> dict[str, str]:
    """The values glued in an executed notebook as ``{glue:text}`` shows them (text/plain, with
    the quotes of a string's repr taken off)."""
    from bookbuild.downloads import GLUE_MIME

    values = {}
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []):
            name = output.get("metadata", {}).get("scrapbook", {}).get("name")
            data = output.get("data", {})
            if not name:
                continue
            text = _text(data.get(GLUE_MIME, data.get("text/plain", "")))
            if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
                try:
                    import ast

                    text = str(ast.literal_eval(text))
                except (ValueError, SyntaxError):
                    text = text[1:-1]
            values[name] = text
    return values


def citations(bib: Path) -> dict[str, tuple[str, str]]:
    """``key: (authors, year)`` of every entry of a BibTeX file: "Costello and Garcia Martin",
    "Chen et al."."""
    from pybtex.database import parse_file

    found = {}
    for key, entry in parse_file(str(bib)).entries.items():
        people = entry.persons.get("author", [])
        last = [" ".join(p.last_names) for p in people] or [entry.fields.get("title", key)]
        authors = last[0] if len(last) == 1 else f"{last[0]} and {last[1]}" if len(last) == 2 else f"{last[0]} et al."
        found[key] = (authors.replace("{", "").replace("}", ""), entry.fields.get("year", "n.d."))
    return found


def label_titles(texts: list[str]) -> dict[str, str]:
    """The title of each ``(label)=`` target followed by a heading in the MyST ``texts``."""
    titles = {}
    for text in texts:
        lines = text.split("\n")
        for i, line in enumerate(lines):
            match = _TARGET.match(line)
            if not match:
                continue
            following = next((l for l in lines[i + 1:] if l.strip()), "")
            if following.startswith("#"):
                titles[match.group(1)] = following.lstrip("#").strip()
    return titles


class Renderer:
    """Renders the Sphinx-only markup of one chapter's markdown cells as plain markdown.

    ``glued``: the chapter's glued texts (and ``fallback``: those of the other chapters, which
    myst-nb would resolve too); ``titles``: section titles by label; ``cites``: authors and year
    by citation key; ``keep_solutions``: the instructors' key (True) or the student edition.
    """

    def __init__(self, chapter: str, glued: dict[str, str], titles: dict[str, str] | None = None,
                 cites: dict[str, tuple[str, str]] | None = None, keep_solutions: bool = False,
                 fallback: dict[str, str] | None = None):
        self.chapter, self.glued, self.fallback = chapter, glued, fallback or {}
        self.titles, self.cites, self.keep = titles or {}, cites or {}, keep_solutions
        self.in_solution = False
        self.exercises: dict[str, int] = {}

    # -- roles ---------------------------------------------------------------------------------
    def role(self, match: re.Match) -> str:
        name, content = match.group(1), match.group(2)
        explicit = re.fullmatch(r"(.*?)\s*<([^<>]+)>", content, flags=re.S)
        text, target = (explicit.group(1), explicit.group(2)) if explicit else (None, content)
        if name in ("glue", "glue:text", "glue:md", "glue:any"):
            key, _, spec = content.partition(":")
            if key in self.glued:
                value = self.glued[key]
            elif key in self.fallback:
                value = self.fallback[key]
            else:
                raise ChapterError(f"{self.chapter}: the prose glues {key!r}, which no executed chapter glued; "
                                   "glue it with report.glue_all in the chapter")
            if spec:
                try:
                    value = format(float(value), spec)
                except ValueError:
                    pass
            return value
        if name in ("cite", "cite:p", "cite:t", "cite:ps", "cite:ts", "cite:author", "cite:year"):
            keys = [k.strip() for k in content.split(",") if k.strip()]
            found = [self.cites.get(k, (k, "")) for k in keys]
            if name.startswith("cite:t"):
                return "; ".join(f"{a} ({y})" for a, y in found)
            if name == "cite:author":
                return "; ".join(a for a, _ in found)
            if name == "cite:year":
                return "; ".join(y for _, y in found)
            return "(" + "; ".join(f"{a} {y}" for a, y in found) + ")"
        if name in ("ref", "numref", "doc", "term", "download", "eq", "prf:ref", "abbr"):
            if text:
                return text
            if name == "term":
                return target
            return self.titles.get(target, target.replace("-", " "))
        if name == "math":
            return f"${content}$"
        if name in ("sub", "sup", "kbd"):
            return content
        return f"`{text or target}`"  # py:func, func, class, mod, ... : a name of the code

    def inline(self, line: str) -> str:
        return _ROLE.sub(self.role, line)

    # -- blocks --------------------------------------------------------------------------------
    def markdown(self, source: str) -> list[str]:
        """The markdown of one cell, rendered (an empty list: nothing of it is kept)."""
        out = []
        for line in self.lines(source.split("\n")):
            if line.strip() or (out and out[-1].strip()):  # one blank line at most
                out.append(line)
        while out and not out[0].strip():
            out.pop(0)
        while out and not out[-1].strip():
            out.pop()
        return out

    def lines(self, lines: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(lines):
            line = lines[i]
            match = _FENCE.match(line)
            code = re.match(r"^(`{3,}|~{3,})(?!\{)", line)
            if code and not match:  # a code block of the prose: kept as it is
                j = next((n for n in range(i + 1, len(lines)) if lines[n].rstrip() == code.group(1)), len(lines) - 1)
                if not self.in_solution:
                    out += lines[i:j + 1]
                i = j + 1
                continue
            if not match:
                if not self.in_solution:
                    if _TARGET.match(line) or re.match(r"^%( |$)", line):
                        pass  # a target or a MyST comment
                    else:
                        out.append(self.inline(line))
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
            i = j + 1
            if name == "solution-end":
                self.in_solution = False
                if self.keep:
                    out += ["", "---", ""]
                continue
            if self.in_solution:
                continue
            if name == "solution-start":
                if self.keep:
                    out += self.solution_heading(argument)
                else:
                    self.in_solution = True
                continue
            if name == "solution":
                if self.keep:
                    out += self.solution_heading(argument) + self.lines(body) + ["", "---", ""]
                continue
            if name in ("exercise", "exercise-start"):
                number = len(self.exercises) + 1
                self.exercises[options.get("label", f"exercise-{number}")] = number
                out += [f"**Exercise {number}. {self.inline(argument)}**", ""] + self.lines(body)
            elif name == "exercise-end":
                continue
            elif name == "admonition":
                out += [f"**{self.inline(argument)}**", ""] + self.lines(body)
            elif name in _ADMONITIONS:
                head = f"**{_ADMONITIONS[name]}.**"
                out += [head, ""] + self.lines(([argument] if argument else []) + body)
            elif name == "glossary":
                out += self.glossary(body)
            elif name in ("math",):
                out += ["$$"] + body + ["$$"]
            elif name in ("bibliography", "eval-rst", "toctree", "tableofcontents", "raw"):
                continue
            else:
                out += self.lines(body)
        return out

    def solution_heading(self, label: str) -> list[str]:
        number = self.exercises.get(label.strip())
        return ["", f"**Solution of exercise {number}**" if number else "**Solution**", ""]

    def glossary(self, body: list[str]) -> list[str]:
        out = []
        for line in body:
            if line.strip() and not line.startswith((" ", "\t")):
                out += ["", f"**{self.inline(line.strip())}**"]
            elif line.strip():
                out.append(": " + self.inline(line.strip()) if out and out[-1].startswith("**") else
                           self.inline(line.strip()))
        return out


def executed_note(values: dict) -> str:
    """The note under a chapter's parameters cell: the values the numbers of its text come from."""
    names = [n for n in PARAMETER_NAMES if n in values] + sorted(set(values) - set(PARAMETER_NAMES))
    shown = ", ".join(f"`{name} = {values[name]!r}`" for name in names)
    return (f"*The numbers written in the text of this notebook come from the book's build, which ran "
            f"this chapter with {shown}. With other values, or on another machine, your numbers will "
            f"differ; `MODE = \"quick\"` runs the chapter in minutes.*")


def edition(notebook, chapter: str, glued: dict[str, str], *, keep_solutions: bool = False,
            titles: dict[str, str] | None = None, cites: dict[str, tuple[str, str]] | None = None,
            install: bool = False, fallback: dict[str, str] | None = None):
    """The student notebook (``keep_solutions=False``) or the instructors' key of an executed
    chapter ``notebook`` (an nbformat notebook; a new one is returned)."""
    import nbformat

    renderer = Renderer(chapter, glued, titles, cites, keep_solutions, fallback)
    cells = []
    for cell in notebook.cells:
        tags = cell.metadata.get("tags", [])
        if cell.cell_type == "markdown":
            source = renderer.markdown(cell.source)
            if source:
                cells.append(nbformat.v4.new_markdown_cell("\n".join(source)))
            continue
        if cell.cell_type != "code" or renderer.in_solution:
            continue
        if "injected-parameters" in tags or (INSTALL_TAG in tags and not install):
            continue
        metadata = {"tags": list(tags)} if tags else {}  # not the build's records (EXECUTED_KEY, papermill)
        new = nbformat.v4.new_code_cell(cell.source, metadata=metadata)
        if keep_solutions:
            new.outputs = [o for o in cell.get("outputs", []) if "scrapbook" not in o.get("metadata", {})]
            new.execution_count = cell.get("execution_count")
        cells.append(new)
        if "parameters" in tags and cell.metadata.get(EXECUTED_KEY):
            cells.append(nbformat.v4.new_markdown_cell(executed_note(cell.metadata[EXECUTED_KEY])))
    if renderer.in_solution:
        raise ChapterError(f"{chapter}: a solution-start without its solution-end")
    out = nbformat.v4.new_notebook(cells=cells)
    out.metadata = {k: v for k, v in notebook.metadata.items() if k in ("kernelspec", "language_info")}
    return out


def write_editions(src: Path, site: Path, config: Path | None = None) -> list[Path]:
    """Write the student edition and the instructors' key of every executed chapter of the build
    tree ``src`` into ``site`` (see the module docstring); returns the paths written."""
    import nbformat

    src, site = Path(src), Path(site)
    config = Path(config) if config else src / "_config.yml"
    notebooks = sorted((src / "book").glob("*.ipynb"))
    texts = [p.read_text() for p in sorted((src / "book").glob("*.md"))]
    loaded = {}
    for path in notebooks:
        loaded[path] = nbformat.read(path, as_version=4)
        texts += [c.source for c in loaded[path].cells if c.cell_type == "markdown"]
    titles = label_titles(texts)
    bib = src / "references.bib"
    cites = citations(bib) if bib.is_file() else {}
    glued = {path: glued_texts(json.loads(path.read_text())) for path in notebooks}
    everything = {k: v for values in glued.values() for k, v in values.items()}
    install = public_repository(config)
    written = []
    for path in notebooks:
        if path.stem in NOT_FOR_STUDENTS:
            continue
        rel = path.relative_to(src)
        for folder, keep in ((STUDENT_DIR, False), (INSTRUCTOR_DIR, True)):
            target = site / folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            notebook = edition(loaded[path], str(rel), glued[path], keep_solutions=keep, titles=titles,
                               cites=cites, install=install, fallback=everything)
            nbformat.write(notebook, target)
            written.append(target)
    return written


def _without_code_blocks(source: str) -> str:
    """``source`` with the fenced code blocks of its prose (not directives) taken out."""
    return re.sub(r"^(`{3,}|~{3,})(?!\{)[^\n]*\n.*?^\1[ \t]*$", "", source, flags=re.M | re.S)


def leftovers(notebook) -> list[str]:
    """What a student notebook must not hold: Sphinx markup left in its markdown (glue roles,
    exercise or solution directives, other roles) and solution markers; one line each. Code
    blocks of the prose are exempt: markup there is shown on purpose."""
    problems = []
    for number, cell in enumerate(notebook.cells):
        if cell.cell_type != "markdown":
            continue
        source = _without_code_blocks(cell.source)
        for match in re.finditer(r"\{glue(?::\w+)?\}|\{solution[\w-]*\}|\{exercise[\w-]*\}|"
                                 r"^(?:`{3,}|:{3,})\{[\w:-]+\}|\{[\w:-]+\}`", source, flags=re.M):
            problems.append(f"cell {number}: {match.group(0)!r} in "
                            f"...{source[max(0, match.start() - 30):match.end() + 30]}...")
    return problems
