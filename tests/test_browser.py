r"""The rendered book in a real headless browser (Debian's chromium through chromedriver).

Builds the HTML book from the committed notebooks (their ``ci`` outputs, no re-execution) and opens every
chapter page with every non-local request blocked (as on a machine without a network): each must render its title,
every figure must load with a non-zero size, every formula must be typeset by the book's own MathJax (no raw
``\(``/``\[`` TeX left in the text), no parameters cell or progress bar may show, and no error output or traceback
may appear; the footer must name the commit the book was built from, and nothing of the machinery may show in
the page's text (commit hashes, library versions, bare ``True``/``False`` outputs, parameter names set as code,
sentences printed twice: :func:`machinery_problems`). A full-page screenshot of every page is
written to ``_build/browser-pages/`` for a person to look at; failing pages also to ``_build/browser-failures/``.
"""
from __future__ import annotations

import re
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
    and fits the text column; every image has alternative text (not its file name); every table of a cell output
    has a numbered caption ("Table 7.3.") and is no wider than the text column."""
    found = browser.execute_script("""
        const main = document.querySelector('main article') || document.querySelector('main, article');
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
        document.querySelectorAll('main img, article img').forEach(img => {
            const alt = (img.getAttribute('alt') || '').trim();
            if (!alt || /[.](png|jpe?g|svg)$/i.test(alt))
                out.push(`figure ${img.getAttribute('src')} has no alternative text`);
        });
        document.querySelectorAll('.cell_output table').forEach((t, i) => {
            const fig = t.closest('figure.book-table');
            const caption = fig && fig.querySelector('figcaption');
            if (!caption || !/^Table\\s+\\d+\\.\\d+\\./.test(caption.innerText.trim()))
                out.push(`table ${i + 1} has no numbered caption`);
            if (t.getBoundingClientRect().width > width + 1)
                out.push(`table ${i + 1} is wider than the text column (${Math.round(t.getBoundingClientRect().width)} > ${Math.round(width)} px)`);
        });
        return out;""")
    return list(found)


#: A commit hash: 7 to 40 hexadecimal digits with at least one letter and one digit, as a word of its own.
HASH = re.compile(r"\b(?=[0-9a-f]*[a-f])(?=[0-9a-f]*[0-9])[0-9a-f]{7,40}\b")
#: A library or interpreter version, e.g. "torch 2.13.0" or "numpy==1.26".
VERSION = re.compile(r"\b(?:torch|numpy|numba|scipy|pandas|python|matplotlib|seaborn|dask|jupyter-book|papermill|"
                     r"myst-nb|sphinx)\s*(?:==|=|v|:)?\s*\d+\.\d+", re.IGNORECASE)


def machinery_problems(browser) -> list[str]:
    """What a reader should not meet on a page: commit hashes, library versions, bare ``True``/``False`` outputs,
    chapter parameter names set as code in the prose, and any sentence (of 6 words or more) printed twice."""
    from helpers import pipeline

    found = browser.execute_script("""
        const main = document.querySelector('main article') || document.querySelector('main, article');
        if (!main) return [[], [], []];
        const skip = '.cell_input, nav, footer, .prev-next-area, .bd-sidebar-secondary, .bd-toc, .onlyprint, '
            + '.citation, .bibliography, #bibliography';
        const code = Array.from(main.querySelectorAll('p code, li code, td code, h1 code, h2 code, h3 code'))
            .filter(c => !c.closest('.cell_input, .cell_output, pre')).map(c => c.innerText.trim());
        const outputs = Array.from(main.querySelectorAll('.cell_output pre')).map(p => p.innerText);
        // what a reader reads, block by block (rendered text: hidden and collapsed parts are left out)
        const blocks = Array.from(main.querySelectorAll('p, figcaption, h1, h2, h3, .cell_output pre, li'))
            .filter(b => !b.closest(skip) && !(b.tagName === 'LI' && b.querySelector('p')))
            .filter(b => !(b.tagName === 'P' && b.closest('figcaption')))
            .map(b => b.innerText);
        return [code, outputs, blocks];""")
    code, outputs, blocks = found
    text = "\n".join(blocks)
    problems = []
    hashes = HASH.findall(text)
    if hashes:
        problems.append(f"commit hash(es) on the page: {sorted(set(hashes))[:3]}")
    versions = VERSION.findall(text)
    if versions:
        problems.append(f"library version(s) on the page: {sorted(set(versions))[:3]}")
    bare = [o for o in outputs if any(line.strip() in ("True", "False") or re.fullmatch(r"'[^']*'", line.strip())
                                      for line in o.splitlines())]
    if bare:
        problems.append(f"{len(bare)} output(s) with a bare True/False or quoted-string line: {bare[0][:60]!r}")
    names = sorted({c.split("=")[0].strip() for c in code
                    if c.split("=")[0].strip() in pipeline.SPECS or c.split("=")[0].strip() == "preset"})
    if names:
        problems.append(f"parameter name(s) set as code in the prose: {names}")
    sentences = [" ".join(s.split()) for block in blocks for s in re.split(r"(?<=[.!?])\s+", " ".join(block.split()))]
    seen, twice = set(), set()
    for sentence in sentences:
        if len(sentence.split()) >= 6:
            (twice if sentence in seen else seen).add(sentence)
    if twice:
        problems.append(f"{len(twice)} sentence(s) appear twice: " + " | ".join(s[:90] for s in sorted(twice)))
    return problems


def pages() -> list[str]:
    """HTML page of every toc entry (intro, chapters, references)."""
    return notebooks.toc_entries(ROOT)


def full_page_screenshot(browser, path: Path) -> None:
    """A PNG of the whole page at the window's width (1,400 px), not only its first screen: the viewport is made as
    tall as the page's content (Chromium's DevTools protocol), captured, and restored. (Capturing beyond the viewport
    instead lays the page out again and cuts off the left of the text column.)"""
    import base64

    metrics = browser.execute_cdp_cmd("Page.getLayoutMetrics", {})
    size = metrics.get("cssContentSize") or metrics["contentSize"]
    width = browser.execute_script("return window.innerWidth;")
    browser.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": int(width), "height": int(size["height"]), "deviceScaleFactor": 1, "mobile": False})
    try:
        shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png"})
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
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
    problems += machinery_problems(browser)
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
