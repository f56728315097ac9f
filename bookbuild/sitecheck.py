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

