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
