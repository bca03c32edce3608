"""Figures, tables and printed lines made for the page."""
import matplotlib
import pandas as pd
import pytest

from helpers import figures

matplotlib.use("Agg")


def test_figures_are_drawn_at_the_column_width_with_legible_fonts():
    fig, axes = figures.subplots(2, 3)
    assert fig.get_size_inches().tolist() == [figures.WIDTH_IN, 5.2] and axes.shape == (2, 3)
    assert matplotlib.rcParams["xtick.labelsize"] >= 9 and matplotlib.rcParams["font.size"] >= 9
    fig, _ = figures.subplots(height=3.0)
    assert fig.get_size_inches().tolist() == [figures.WIDTH_IN, 3.0]
    with pytest.raises(ValueError, match="nrows = 0"):
        figures.subplots(0, 1)


def test_write_wraps_to_the_column(capsys):
    figures.write("word " * 40)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) > 1 and all(len(line) <= figures.LINE_CHARS for line in lines)
    assert all(line.startswith("  ") for line in lines[1:])


def test_exhibit_moves_the_index_name_and_keeps_intervals_on_one_line(monkeypatch):
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    frame = pd.DataFrame({"Z": ["1.0 [0.5, 2.0]", "3"]}, index=pd.Index(["a", "b"], name="motif"))
    figures.exhibit(frame)
    out = shown[0]
    assert out.index.name is None and out.columns.names == ["motif"]
    assert out.loc["a", "Z"] == "1.0\u00a0[0.5,\u00a02.0]"
    assert frame.index.name == "motif"                        # the caller's frame is left as it was
