"""The built site in a real browser: headless Chromium through Selenium and chromedriver.

The site (``$NODEBIO_SITE`` or ``_build/html``) is served on localhost. The index and every
page of ``_toc.yml`` must load without console errors and with every image loaded; the sidebar
must link every page, and the "next" links must walk through them all in order; no code block
may scroll sideways at the window size of the test. A screenshot of
each page goes to ``_build/screenshots/`` (CI uploads them). Without Debian's ``chromium`` and
``chromium-driver`` the test is skipped with that reason.

Every console error fails the test, from this site or another host: the site serves its scripts
itself (MathJax included, ``bookbuild.sphinxext``), so it works offline, and equations must be
typeset by MathJax on every page that has them.
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import threading
import time
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

import bookbuild as book

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "_build" / "screenshots"
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")

pytestmark = [pytest.mark.book, pytest.mark.skipif(
    not (CHROMIUM and DRIVER),
    reason="headless Chromium not available: install Debian's `chromium` and `chromium-driver` "
           "(apt-get install chromium chromium-driver) to run the browser test of the site",
)]


def pages() -> list[str]:
    """Paths of the pages, relative to the site root: every file of ``_toc.yml``."""
    return [str(c.relative_to(ROOT).with_suffix(".html")) for c in book.chapters()]


@pytest.fixture(scope="module")
def base_url(site):
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1280,1000", "--hide-scrollbars"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=DRIVER))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def load(browser, url: str) -> None:
    browser.get(url)
    deadline = time.time() + 30
    while time.time() < deadline:
        if browser.execute_script("return document.readyState") == "complete":
            break
        time.sleep(0.1)
    time.sleep(0.5)  # scripts that run after the load event (theme, MathJax)


def console_errors(browser, base_url: str) -> tuple[list[str], list[str]]:
    """Severe console messages of the page: (from this site, from other hosts)."""
    own, external = [], []
    for entry in browser.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        message = entry["message"]
        urls = re.findall(r"https?://[^\s\"']+", message)
        if urls and not any(u.startswith(base_url) for u in urls):
            external.append(message)
        else:
            own.append(message)
    return own, external


def broken_images(browser) -> list[str]:
    images = browser.execute_script(
        "return Array.from(document.images).map(i => [i.currentSrc || i.src, i.complete, i.naturalWidth]);")
    return [src for src, complete, width in images if not complete or width == 0]


def screenshot(browser, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    height = browser.execute_script("return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
    browser.set_window_size(1280, max(800, min(int(height), 16000)))
    path = SCREENSHOTS / f"{name}.png"
    browser.save_screenshot(str(path))
    browser.set_window_size(1280, 1000)
    return path


def same_page(a: str, b: str) -> bool:
    strip = lambda u: urlsplit(u)._replace(fragment="", query="").geturl()
    return strip(a) == strip(b)


MATH = """
return [document.querySelectorAll('.math, div.math, span.math').length,
        document.querySelectorAll('mjx-container').length];
"""


def test_every_page_loads_without_errors_with_its_images_and_a_screenshot(site, base_url, browser):
    problems = []
    names = ["index.html"] + pages()
    for name in names:
        load(browser, urljoin(base_url, name))
        title = browser.title
        if "404" in title or not title:
            problems.append(f"{name}: no page (title {title!r})")
        own, external = console_errors(browser, base_url)
        problems += [f"{name}: console error: {m}" for m in own]
        problems += [f"{name}: console error from another host: {m}" for m in external]
        problems += [f"{name}: image did not load: {src}" for src in broken_images(browser)]
        deadline = time.time() + 10
        math, typeset = browser.execute_script(MATH)
        while math and not typeset and time.time() < deadline:
            time.sleep(0.2)
            math, typeset = browser.execute_script(MATH)
        if math and not typeset:
            problems.append(f"{name}: {math} equations left as raw LaTeX (MathJax did not typeset them)")
        shot = screenshot(browser, name.removesuffix(".html").replace("/", "-"))
        assert shot.stat().st_size > 10_000, f"screenshot of {name} is empty"
    assert not problems, "\n".join(problems)
    assert {p.name for p in SCREENSHOTS.glob("*.png")} >= {n.removesuffix(".html").replace("/", "-") + ".png"
                                                           for n in names}


def test_navigation_reaches_every_page(site, base_url, browser):
    from selenium.webdriver.common.by import By

    expected = [urljoin(base_url, p) for p in pages()]
    load(browser, base_url)  # index.html redirects to the root page
    assert same_page(browser.current_url, expected[0]), f"the index lands on {browser.current_url}"
    sidebar = {a.get_attribute("href") for a in browser.find_elements(By.CSS_SELECTOR, "nav.bd-links a")}
    missing = [u for u in expected[1:] if not any(same_page(u, s) for s in sidebar)]
    assert not missing, f"the sidebar does not link {missing}"
    visited = [browser.current_url]
    for _ in range(len(expected) + 2):
        following = browser.find_elements(By.CSS_SELECTOR, "a.right-next")
        if not following:
            break
        following[0].click()
        deadline = time.time() + 30
        while same_page(browser.current_url, visited[-1]) and time.time() < deadline:
            time.sleep(0.1)
        visited.append(browser.current_url)
    assert len(visited) == len(expected) and all(same_page(a, b) for a, b in zip(visited, expected)), (
        f"following 'next' visits {visited}, the table of contents lists {expected}")


def test_solutions_are_folded_until_opened(site, base_url, browser):
    from selenium.webdriver.common.by import By

    chapter = next(c for c in book.parts()["The book"] if book.is_notebook(c))
    load(browser, urljoin(base_url, str(chapter.relative_to(ROOT).with_suffix(".html"))))
    solutions = browser.find_elements(By.CSS_SELECTOR, ".solution.dropdown")
    assert len(solutions) >= 2
    hidden = browser.execute_script(
        "return Array.from(document.querySelectorAll('.solution.dropdown')).map(s => "
        "Array.from(s.children).filter(c => !c.classList.contains('admonition-title') && "
        "!c.classList.contains('toggle-button') && c.offsetHeight > 0).length === 0);")
    assert all(hidden), "a solution is visible before it is opened"


OVERFLOWING = """
return Array.from(document.querySelectorAll('article pre, article div.highlight'))
  .filter(e => e.offsetParent !== null && e.scrollWidth > e.clientWidth + 1)
  .map(e => [e.closest('.cell_input') ? 'code cell' : e.closest('.cell_output') ? 'cell output' : 'code block',
             e.clientWidth, e.scrollWidth, (e.innerText || '').trim().split('\\n')[0].slice(0, 70)]);
"""

OPEN_DROPDOWNS = """
document.querySelectorAll('details').forEach(d => d.open = true);
document.querySelectorAll('.dropdown .toggle-button, button.toggle-button').forEach(b => b.click());
"""


def test_no_code_block_overflows_horizontally(site, base_url, browser):
    """At the window size of this module (1280 x 1000), every code block of every page, solutions
    unfolded, fits its width: code cells are formatted to fit (``python -m bookbuild format``),
    text outputs wrap (bookbuild/static/nodebio.css), other code blocks are kept short."""
    problems = []
    for name in pages():
        load(browser, urljoin(base_url, name))
        browser.execute_script(OPEN_DROPDOWNS)
        time.sleep(0.3)
        for kind, client, scroll, first in browser.execute_script(OVERFLOWING):
            problems.append(f"{name}: {kind} {scroll - client} px wider than its {client} px, starting `{first}`")
    assert not problems, "code blocks that scroll sideways:\n" + "\n".join(problems)


MEASURE = """
const article = document.querySelector('article') || document.body;
const prose = article.cloneNode(true);
prose.querySelectorAll('.cell_input, .cell_output, pre, script, style, .solution').forEach(e => e.remove());
const words = (prose.textContent || '').split(/\\s+/).filter(w => /[A-Za-z]/.test(w)).length;
const height = Math.max(document.body.scrollHeight, document.documentElement.scrollHeight);
const images = Array.from(article.querySelectorAll('img')).filter(i => i.naturalWidth > 0 && i.offsetParent)
  .map(i => [i.getAttribute('src'), i.naturalWidth, i.getBoundingClientRect().width]);
const tables = Array.from(article.querySelectorAll('table')).filter(t => t.offsetParent).map(t => {
  let widest = 0, box = t.parentElement;
  for (; box && box !== article.parentElement; box = box.parentElement) {
    if (t.offsetWidth > box.clientWidth + 1) { widest = box.clientWidth; break; }
  }
  const head = Array.from(t.querySelectorAll('th')).slice(0, 4).map(h => h.innerText.trim()).join(' | ');
  return [t.offsetWidth, widest, head];
}).filter(t => t[1] > 0);
return {screens: height / 1000, words: words, images: images, tables: tables};
"""

MAX_SCREENS = 12        # of 1000 px, at 1280 px wide, solutions folded
# Chapters still longer than that, each to be split (as the structure and interventions chapters
# were); the test fails when one of them gets short enough to leave this list.
TOO_LONG: dict[str, str] = {}  # chapter: why it is still long (the test fails once it is not)
MAX_WORDS = 4000        # of a page's prose: code, outputs and solutions left out
MIN_FIGURE_SCALE = 0.8  # rendered width / natural width of a figure


def measure(browser, base_url: str, name: str) -> dict:
    load(browser, urljoin(base_url, name))
    return browser.execute_script(MEASURE)


def test_figures_and_tables_fit_the_page(site, base_url, browser):
    """At 1280 x 1000 every figure is drawn at 80% of its natural width or more (figures are made
    for the text column, ``nodebio.plots.PAGE_WIDTH``), and no table is wider than the page."""
    problems = []
    for name in pages():
        found = measure(browser, base_url, name)
        for src, natural, shown in found["images"]:
            if natural > 100 and shown < MIN_FIGURE_SCALE * natural:
                problems.append(f"{name}: figure {src} drawn at {100 * shown / natural:.0f}% of its "
                                f"{natural} px: make it narrower (at most nodebio.plots.PAGE_WIDTH inches)")
        for width, room, head in found["tables"]:
            problems.append(f"{name}: table ({head} ...) is {width} px wide in {room} px: it scrolls sideways")
    assert not problems, "\n".join(problems)


def test_chapters_are_of_teachable_length(site, base_url, browser):
    """Every chapter of the main part fits in twelve screens and about 4,000 words of prose, so
    that it can be taught in one session; the counts are printed for the record."""
    problems, counts = [], []
    for chapter in book.parts()["The book"]:
        name = str(chapter.relative_to(ROOT).with_suffix(".html"))
        found = measure(browser, base_url, name)
        counts.append(f"{chapter.stem}: {found['screens']:.1f} screens, {found['words']} words")
        too_long = found["screens"] > MAX_SCREENS or found["words"] > MAX_WORDS
        if too_long and chapter.stem not in TOO_LONG:
            problems.append(counts[-1])
        elif not too_long and chapter.stem in TOO_LONG:
            problems.append(f"{counts[-1]}: short enough now, take it out of TOO_LONG")
    print("\n".join(counts))
    assert not problems, (f"chapters longer than {MAX_SCREENS} screens or {MAX_WORDS} words "
                          "(split them):\n" + "\n".join(problems))
