"""The prose helpers: formatted text without quotes, glued under its name."""
import math

import IPython.core.formatters as formatters
import pytest

from helpers import prose


def test_text_displays_without_quotes():
    bundle, _ = formatters.format_display_data(prose.fmt(0.931, ".1%"))
    assert bundle["text/plain"] == "93.1%"


@pytest.mark.parametrize("value, spec, expected", [
    (3.2e-4, ".1e", "3.2 × 10⁻⁴"), (12345, ",d", "12,345"), (0.93, ".0%", "93%"), (2.5e6, ".2e", "2.50 × 10⁶"),
    (math.nan, ".1f", "n/a"), (None, "", "n/a"), (1.25, ".1f", "1.2")])
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
    assert prose.say("loss", 3.2e-4, ".1e") == "3.2 × 10⁻⁴"
    assert prose.say("verdict", "exceeds") == "exceeds"
    assert glued == {"loss": ("3.2 × 10⁻⁴", False), "verdict": ("exceeds", False)}
