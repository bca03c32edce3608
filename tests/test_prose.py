"""The prose helpers: formatted text without quotes, glued under its name."""
import ast
import math

import IPython.core.formatters as formatters
import pytest

from helpers import prose


def test_glued_text_reads_back_as_the_text():
    # myst-nb pastes ``ast.literal_eval`` of the stored text/plain; "20,000" must not turn into a tuple
    for text in (prose.fmt(20_000, ",d"), prose.fmt(0.931, ".1%"), prose.words([1, 2])):
        bundle, _ = formatters.format_display_data(text)
        assert ast.literal_eval(bundle["text/plain"]) == text


@pytest.mark.parametrize("value, spec, expected", [
    (3.2e-4, ".1e", "3.2 × 10⁻⁴"), (12345, ",d", "12,345"), (0.93, ".0%", "93%"), (2.5e6, ".2e", "2.50 × 10⁶"),
    (7.8e-5, ".2g", "7.8 × 10⁻⁵"), (0.05, ".2g", "0.05"), (math.nan, ".1f", "n/a"), (None, "", "n/a"), (1.25, ".1f", "1.2")])
def test_fmt(value, spec, expected):
    assert prose.fmt(value, spec) == expected


def test_words():
    assert prose.words([]) == "none"
    assert prose.words([0.91]) == "0.91"
    assert prose.words([0.91, 0.93], ".0%") == "91% and 93%"
    assert prose.words(["a", "b", "c"], conjunction="or") == "a, b or c"


def test_say_glues_the_formatted_text(monkeypatch):
    glued = {}
    import myst_nb
    monkeypatch.setattr(myst_nb, "glue", lambda name, value, display: glued.update({name: (value, display)}))
    assert prose.say("loss", 3.2e-4, ".1e") is None
    prose.say("verdict", "exceeds")
    assert glued == {"loss": ("3.2 × 10⁻⁴", False), "verdict": ("exceeds", False)}


def test_percent_and_span_for_the_text():
    assert prose.percent(0.93) == "93 %" and prose.percent(0.0512, 1) == "5.1 %"
    assert prose.span([3, 1, 2], "d", "batches") == "1–3 batches"
    assert prose.span([2.001, 1.999], ".1f") == "2.0"
    assert prose.span([0.5, 1.5], ".1f", "%") == "0.5–1.5 %"
    with pytest.raises(ValueError, match="no values"):
        prose.span([])


def test_every_bibliography_entry_is_cited():
    """The references page lists every entry of references.bib (``:all:``): each must be cited somewhere."""
    import json
    import re

    from helpers import notebooks
    from helpers.pipeline import repo_root

    root = repo_root()
    keys = re.findall(r"^@\w+\{([^,]+),", (root / "book" / "references.bib").read_text(), flags=re.M)
    texts = [p.read_text() for p in (root / "book").glob("*.md")]
    texts += ["".join(c["source"]) for nb in notebooks.chapters(root)
              for c in json.loads(nb.read_text())["cells"] if c["cell_type"] == "markdown"]
    cited = {k.strip() for t in texts for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", t)
             for k in group.split(",")}
    assert keys and not set(keys) - cited, f"never cited: {sorted(set(keys) - cited)}"


def test_count_of_and_words_or_same_read_as_sentences():
    from helpers import prose

    assert prose.count_of(5, 8) == "5 of the 8" and prose.count_of(8, 8, "networks") == "all 8 networks"
    assert prose.count_of(0, 8) == "none of the 8" and prose.count_of(2, 2) == "both"
    with pytest.raises(ValueError):
        prose.count_of(9, 8)
    assert prose.words_or_same([3e-7, 3e-7], ["Radau", "simulate"], ".0e") == "3 × 10⁻⁷ for both Radau and simulate"
    assert prose.words_or_same([1, 2], ["a", "b"]) == "1 (a) and 2 (b)"
