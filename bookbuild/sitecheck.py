"""The offline check of a built site: internal links, anchors and images
(``python -m bookbuild check-site``)."""

from __future__ import annotations

from pathlib import Path

from bookbuild.sources import ROOT


def check_site(site: Path = ROOT / "_build" / "html") -> list[str]:
    """Problems with the internal links and images of a built site (empty when there are none).

    Offline: every relative ``href``/``src`` of every page (links, images, scripts, stylesheets)
    must name an existing file, and a ``#fragment`` into a page of the site an existing id.
    External links are left to ``sphinx-build -b linkcheck`` in the workflow.
    """
    from html.parser import HTMLParser
    from urllib.parse import unquote, urlsplit

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.ids, self.refs = set(), []

        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            for key in ("id", "name"):
                if attrs.get(key) and (key == "id" or tag == "a"):
                    self.ids.add(attrs[key])
            for key in ("href", "src"):
                if attrs.get(key) is not None and tag in ("a", "img", "link", "script", "source", "iframe"):
                    self.refs.append((tag, attrs[key]))

    site = Path(site)
    # _static holds the theme's Jinja templates (*.html that are not pages)
    pages = sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts)
    if not pages:
        return [f"no HTML pages under {site}"]
    parsed = {}
    for page in pages:
        parser = Page()
        parser.feed(page.read_text(errors="replace"))
        parsed[page.resolve()] = parser
    problems = []
    for page, parser in parsed.items():
        rel_page = page.relative_to(site.resolve())
        for tag, ref in parser.refs:
            parts = urlsplit(ref)
            if parts.scheme or ref.startswith("//") or ref.startswith(("mailto:", "javascript:", "data:")):
                continue
            if not parts.path:
                target = page
            else:
                target = (page.parent / unquote(parts.path)).resolve()
                if target.is_dir():
                    target = target / "index.html"
                if not target.is_file():
                    problems.append(f"{rel_page}: <{tag}> {ref} -> missing {unquote(parts.path)}")
                    continue
            if parts.fragment and target.suffix == ".html" and target in parsed:
                if unquote(parts.fragment) not in parsed[target].ids:
                    problems.append(f"{rel_page}: <{tag}> {ref} -> no id {parts.fragment!r} in {target.name}")
    return problems


def stderr_outputs(site: Path = ROOT / "_build" / "html") -> list[str]:
    """Blocks of standard error on the pages of a built site (``output stderr``: a warning, a log
    line or a progress bar a cell printed), one line each with the page and its first line.

    A reader takes a warning on a page for a fault of the book; fix it where it is raised.
    """
    import re

    site = Path(site)
    problems = []
    for page in sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts):
        html = page.read_text(errors="replace")
        for match in re.finditer(r'<div class="[^"]*\boutput stderr\b[^"]*"[^>]*>(.*?)</div>', html, flags=re.S):
            text = re.sub(r"<[^>]+>", "", match.group(1)).strip().splitlines()
            problems.append(f"{page.relative_to(site)}: output on stderr: {(text or [''])[0][:120]}")
    return problems


def external_scripts(site: Path = ROOT / "_build" / "html") -> list[str]:
    """Scripts a page of the site loads from another host (a CDN): the site must work offline."""
    import re

    site = Path(site)
    problems = []
    for page in sorted(p for p in site.rglob("*.html") if "_static" not in p.relative_to(site).parts):
        for src in re.findall(r'<script[^>]*\bsrc="((?:https?:)?//[^"]+)"', page.read_text(errors="replace")):
            problems.append(f"{page.relative_to(site)}: loads {src} from another host")
    return problems


def glue_keys(notebook: Path) -> set[str]:
    """The names glued in an executed notebook (the ``scrapbook`` metadata of myst-nb's glue)."""
    import json

    cells = json.loads(Path(notebook).read_text()).get("cells", [])
    return {output["metadata"]["scrapbook"]["name"] for cell in cells for output in cell.get("outputs", [])
            if "scrapbook" in output.get("metadata", {})}


def prose_problems(html: str, names: set[str] = frozenset(), keys: set[str] = frozenset()) -> list[str]:
    """Names left unsubstituted in the prose of a rendered page, one line each with its context.

    The prose is the page's article less its code: the input of code cells, their outputs but
    for figure captions, and code blocks (``pre``) are exempt, being code; inline code spans
    (``SEED`` in backticks) are prose, since a name in backticks is still a name the reader sees
    instead of its value. Flagged:

    - a literal glue role (``{glue:text}``, ``{glue:}``, ...), which the build left unparsed (in
      an inline code span it is the role's syntax, shown on purpose, as on the API page);
    - a word of ``names`` (the parameters of the chapter: ``MODE``, ``SEED``, ...), unless an
      ``=`` follows it: ``Set `DEVICE = "cuda"` `` or ``--param DEVICE=cuda`` tells the reader
      how to set the parameter, where "mode `MODE`" stands in for a value;
    - a glue key of ``keys``: as a word where the key has an underscore or a digit (``n_seeds``,
      no English word), and as the whole text of an inline code span where it is a plain word
      (``copies``: the word itself may be prose).
    """
    import re

    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    article = soup.select_one("article") or soup.body or soup
    for output in article.select("div.cell_output"):
        captions = [c.extract() for c in output.find_all("figcaption")]
        output.clear()
        output.extend(captions)
    for element in article.select("div.cell_input, pre, script, style"):
        element.decompose()
    text = " ".join(article.get_text(" ").split())
    codes = {" ".join(c.get_text(" ").split()) for c in article.find_all("code")}
    for code in article.find_all("code"):
        code.replace_with(" ")
    plain = " ".join(article.get_text(" ").split())
    problems = []

    def context(match, source: str = text) -> str:
        return source[max(0, match.start() - 40):match.end() + 40]

    for match in re.finditer(r"\{glue(?::\w+)?\}", plain):
        problems.append(f"literal glue role {match.group(0)!r}: ...{context(match, plain)}...")
    for name in sorted(names):
        for match in re.finditer(rf"(?<![\w.]){re.escape(name)}(?!\w)(?!\s*=)", text):
            problems.append(f"parameter name {name} in the prose: ...{context(match)}...")
    for key in sorted(keys):
        if re.search(r"[_\d]", key):
            for match in re.finditer(rf"(?<![\w.]){re.escape(key)}(?![\w])", text):
                problems.append(f"glue key {key} in the prose: ...{context(match)}...")
        elif key in codes:
            problems.append(f"glue key {key} as inline code in the prose")
    return problems


def unsubstituted_names(site: Path = ROOT / "_build" / "html", toc: Path = ROOT / "_toc.yml",
                        parameter_parts: tuple[str, ...] = ("The book",)) -> list[str]:
    """:func:`prose_problems` of every page of ``_toc.yml`` in a built site, prefixed by the page.

    Glue keys come from the executed notebook Sphinx copies next to the page
    (``_sources/<page>.ipynb``). Parameter names are checked on the chapters of
    ``parameter_parts`` only: the root page and the appendix (how to run the book, what to
    change for a lab session, the seeds of a build) name the parameters as their subject.
    """
    from bookbuild.sources import chapters, is_notebook, parameters_of, parts

    root = Path(toc).parent
    named = {c for part in parameter_parts for c in parts(toc).get(part, [])}
    problems = []
    for chapter in chapters(toc):
        rel = chapter.relative_to(root)
        page = Path(site) / rel.with_suffix(".html")
        if not page.is_file():
            problems.append(f"{rel.with_suffix('.html')}: missing from {site}")
            continue
        names = set(parameters_of(chapter)) if is_notebook(chapter) and chapter in named else set()
        source = Path(site) / "_sources" / rel.with_suffix(".ipynb")
        keys = glue_keys(source) if source.is_file() else set()
        problems += [f"{rel.with_suffix('.html')}: {p}" for p in prose_problems(page.read_text(), names, keys)]
    return problems
