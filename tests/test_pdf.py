"""The whole book as one PDF (``make pdf``), built from the committed notebooks with Debian's TeX Live.

Checks what a reader of the printed book needs: every chapter is in it under its title, every figure of the
notebooks is placed (none lost to a wrong path), no cross-reference or citation is left unresolved (``??``), and
XeLaTeX found a glyph for every character (no "Missing character" in its log).
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess

import pytest

from helpers import notebooks, runner
from helpers.pipeline import repo_root

ROOT = repo_root()
TOOLS = ("xelatex", "latexmk", "pdftotext", "pdfimages")

pytestmark = pytest.mark.skipif(not all(shutil.which(t) for t in TOOLS),
                                reason="Debian's TeX Live and poppler-utils are not installed (make latex)")


@pytest.fixture(scope="module")
def pdf(tmp_path_factory):
    stage = tmp_path_factory.mktemp("pdf")
    runner.stage_sources(ROOT, stage)
    return runner.render_pdf(stage)


def notebook_figures() -> int:
    """PNG outputs of every chapter (what the PDF must place)."""
    return sum("image/png" in out.get("data", {})
               for nb in notebooks.chapters(ROOT)
               for cell in json.loads(nb.read_text())["cells"] if cell["cell_type"] == "code"
               for out in cell.get("outputs", []))


def test_every_chapter_is_in_the_pdf(pdf):
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    text = " ".join(text.replace("\u2019", "'").split())                 # LaTeX's curly apostrophe, line breaks
    for notebook in notebooks.chapters(ROOT):
        title = next(c for c in json.loads(notebook.read_text())["cells"] if c["cell_type"] == "markdown")
        heading = "".join(title["source"]).splitlines()[0].lstrip("# ").strip()
        assert heading.upper() in text.upper(), f"{notebook.name}: title {heading!r} not in the PDF"
    assert "??" not in text, "an unresolved reference or citation (??) in the PDF"
    assert "Bibliography" in text or "BIBLIOGRAPHY" in text


def test_every_figure_is_placed_and_every_glyph_found(pdf):
    listing = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True, check=True).stdout
    images = [line for line in listing.splitlines()[2:] if re.search(r"\bimage\b", line)]
    assert len(images) >= notebook_figures(), f"{len(images)} images in the PDF, {notebook_figures()} in the notebooks"
    log = pdf.with_suffix(".log").read_text(errors="replace")
    assert "Missing character" not in log
