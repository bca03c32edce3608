"""The rendered book in a real headless browser (Debian's chromium through chromedriver).

Builds the HTML book from the committed notebooks (their ``ci`` outputs, no re-execution) and opens every
chapter page: each must render its title, every figure must load with a non-zero size, and no error output or
traceback may appear. Failing pages are saved as screenshots under ``_build/browser-failures/``.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from helpers import runner
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
    yield driver
    driver.quit()


def pages() -> list[str]:
    """HTML page of every toc entry (intro, chapters, references)."""
    names = []
    for line in (ROOT / "_toc.yml").read_text().splitlines():
        line = line.strip()
        for prefix in ("root:", "- file:"):
            if line.startswith(prefix):
                names.append(line[len(prefix):].strip())
    return names


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
    if problems:
        shots = ROOT / "_build" / "browser-failures"
        shots.mkdir(parents=True, exist_ok=True)
        browser.save_screenshot(str(shots / f"{page.replace('/', '_')}.png"))
    assert not problems, f"{page}: " + "; ".join(problems)
    if page.split("/")[-1][:2].isdigit():
        assert images, f"{page}: a chapter page without any figure"
