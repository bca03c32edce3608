r"""The rendered book in a real headless browser (Debian's chromium through chromedriver).

Builds the HTML book from the committed notebooks (their ``ci`` outputs, no re-execution) and opens every
chapter page with every non-local request blocked (as on a machine without a network): each must render its title,
every figure must load with a non-zero size, every formula must be typeset by the book's own MathJax (no raw
``\(``/``\[`` TeX left in the text), no parameters cell or progress bar may show, and no error output or traceback
may appear; the footer must name the commit the book was built from. A full-page screenshot of every page is
written to ``_build/browser-pages/`` for a person to look at; failing pages also to ``_build/browser-failures/``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import notebooks, runner
from helpers.pipeline import repo_root

ROOT = repo_root()
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER),
                                reason="Debian's chromium and chromium-driver are not installed (make browser)")

ERROR_SELECTORS = (".output.traceback", ".output.error", "div.cell_output .stderr", ".system-message",
                   ".problematic")


@pytest.fixture(scope="module")
def html_dir(tmp_path_factory) -> Path:
    stage = tmp_path_factory.mktemp("book")
    runner.stage_sources(ROOT, stage)
    return runner.render(stage)


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                 "--no-first-run", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--window-size=1400,1000"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.execute_cdp_cmd("Network.enable", {})
    driver.execute_cdp_cmd("Network.setBlockedURLs", {"urls": ["http://*", "https://*", "ws://*", "wss://*"]})
    yield driver
    driver.quit()


def math_problems(browser, timeout: float = 20.0) -> list[str]:
    """Wait for MathJax to typeset the page; report raw TeX left in the text or formulas it did not render."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = browser.execute_script(
            "const n = document.querySelectorAll('.math').length;"
            "const done = window.MathJax && MathJax.startup && MathJax.startup.promise;"
            "return [n, document.querySelectorAll('mjx-container').length, Boolean(done)];")
        if state[0] == 0 or state[1] >= state[0]:
            break
        time.sleep(0.25)
    n_math, n_rendered, _ = state
    problems = []
    if n_rendered < n_math:
        problems.append(f"{n_math - n_rendered} of {n_math} formulas not typeset (is MathJax served locally?)")
    raw = browser.execute_script(
        "const m = document.querySelector('main, article'); const t = m ? m.innerText : '';"
        "return (t.match(/\\\\[\\(\\[]/g) || []).length;")
    if raw:
        problems.append(f"{raw} raw TeX delimiter(s) \\( or \\[ in the page text")
    return problems


def layout_problems(browser) -> list[str]:
    """Figures and tables made for the page: every figure of a cell output is a numbered figure with a caption
    and fits the text column; no table is wider than the text column."""
    found = browser.execute_script("""
        const main = document.querySelector('main article, main, article');
        const width = main ? main.getBoundingClientRect().width : 1e9;
        const out = [];
        document.querySelectorAll('.cell_output img').forEach(img => {
            const fig = img.closest('figure');
            const caption = fig && fig.querySelector('figcaption');
            if (!caption || !/Fig\\.\\s*\\d+/.test(caption.innerText))
                out.push(`figure ${img.getAttribute('src')} has no numbered caption`);
            if (img.getBoundingClientRect().width > width + 1)
                out.push(`figure ${img.getAttribute('src')} is wider than the text column`);
        });
        document.querySelectorAll('.cell_output table').forEach((t, i) => {
            if (t.getBoundingClientRect().width > width + 1)
                out.push(`table ${i + 1} is wider than the text column (${Math.round(t.getBoundingClientRect().width)} > ${Math.round(width)} px)`);
        });
        return out;""")
    return list(found)


def pages() -> list[str]:
    """HTML page of every toc entry (intro, chapters, references)."""
    return notebooks.toc_entries(ROOT)


def full_page_screenshot(browser, path: Path) -> None:
    """A PNG of the whole page at the window's width (1,400 px), not only its first screen: Chromium's DevTools
    protocol captures beyond the viewport, clipped to the content's full height."""
    import base64

    metrics = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    shot = browser.execute_cdp_cmd("Page.captureScreenshot", {
        "format": "png", "captureBeyondViewport": True,
        "clip": {"x": 0, "y": 0, "width": size["width"], "height": size["height"], "scale": 1}})
    path.write_bytes(base64.b64decode(shot["data"]))


@pytest.mark.parametrize("page", pages())
def test_page_renders_with_figures_and_no_errors(page, html_dir, browser):
    path = html_dir / f"{page}.html"
    assert path.exists(), f"{path} was not rendered"
    browser.get(path.as_uri())
    problems = []
    title = browser.execute_script("const h = document.querySelector('main h1, article h1'); "
                                   "return h ? h.textContent.trim() : '';")
    if not title:
        problems.append("no H1 title")
    images = browser.execute_script(
        "return Array.from(document.querySelectorAll('main img, article img')).map("
        "i => [i.getAttribute('src'), i.complete, i.naturalWidth, i.naturalHeight]);")
    for src, complete, width, height in images:
        if not complete or width == 0 or height == 0:
            problems.append(f"figure {src} did not load ({width}x{height})")
    for selector in ERROR_SELECTORS:
        count = browser.execute_script(f"return document.querySelectorAll({selector!r}).length;")
        if count:
            problems.append(f"{count} element(s) matching {selector}")
    text = browser.execute_script("return document.body.innerText;")
    for marker in ("Traceback (most recent call last)", "Error executing", "PapermillExecutionError"):
        if marker in text:
            problems.append(f"page text contains {marker!r}")
    if "Built from commit" not in text:
        problems.append("no footer naming the commit the book was built from")
    problems += math_problems(browser)
    problems += layout_problems(browser)
    main_text = browser.execute_script("const m = document.querySelector('main, article'); "
                                       "return m ? m.innerText : '';")
    for marker in ('preset = "ci"', "# Parameters", "it/s]", "Executing:"):
        if marker in main_text:
            problems.append(f"machinery on the page: {marker!r}")
    shots = ROOT / "_build" / "browser-pages"
    shots.mkdir(parents=True, exist_ok=True)
    full_page_screenshot(browser, shots / f"{page.replace('/', '_')}.png")
    if problems:
        shots = ROOT / "_build" / "browser-failures"
        shots.mkdir(parents=True, exist_ok=True)
        full_page_screenshot(browser, shots / f"{page.replace('/', '_')}.png")
    assert not problems, f"{page}: " + "; ".join(problems)
    if page.split("/")[-1][:2].isdigit():
        assert images, f"{page}: a chapter page without any figure"
