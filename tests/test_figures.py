"""Figures, tables and printed lines made for the page."""
import re

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


def _shown_html(monkeypatch, *args, **kwargs) -> str:
    shown = []
    monkeypatch.setattr("IPython.display.display", shown.append)
    figures.exhibit(*args, **kwargs)
    numbering = args[2] if len(args) > 2 else kwargs.get("numbering")
    label = None if numbering is None or len(args) < 2 else f"Table {numbering.chapter}.{numbering.count}"
    return shown[0].data, label


def test_exhibit_moves_the_index_name_and_keeps_intervals_on_one_line(monkeypatch):
    frame = pd.DataFrame({"Z": ["1.0 [0.5, 2.0]", "3"]}, index=pd.Index(["a", "b"], name="motif"))
    html, label = _shown_html(monkeypatch, frame)
    assert label is None
    assert "1.0\u00a0[0.5,\u00a02.0]" in html
    assert html.count("motif") == 1 and "index_name" in html           # the index's name sits in the header row
    assert frame.index.name == "motif"                        # the caller's frame is left as it was


def test_exhibit_numbers_captions_right_aligns_numbers_and_dashes_missing_values(monkeypatch):
    tables = figures.Numbering(7)
    frame = pd.DataFrame({"name": ["a", "b"], "Z": [1.25, float("nan")], "share": ["12 %", "—"]})
    html, label = _shown_html(monkeypatch, frame, "What it shows.", tables, {"Z": "{:.1f}"})
    assert label == "Table 7.1" and "<figcaption><b>Table 7.1.</b> What it shows.</figcaption>" in html
    assert ">1.2<" in html or ">1.3<" in html                    # one format for the column
    assert html.count(figures.MISSING) == 2 and "nan" not in html.lower()
    right = re.findall(r"#T_table-7-1_row0_col(\d)", html.split("</style>")[0])
    assert sorted(set(right)) == ["1", "2"]                    # the numeric columns, not the names
    assert _shown_html(monkeypatch, frame, "Next.", tables)[1] == "Table 7.2"
    with pytest.raises(ValueError, match="chapter"):
        figures.Numbering(0)


def test_sparsity_axis_spreads_the_high_sparsities():
    fig, ax = figures.subplots()
    ax.plot([0, 50, 90, 99], [1, 2, 3, 4])
    figures.sparsity_axis(ax)
    to_axes = lambda s: ax.transLimits.transform(ax.transScale.transform([[s, 1]]))[0][0]
    assert to_axes(0) == pytest.approx(0) and to_axes(99) == pytest.approx(1)
    assert to_axes(90) == pytest.approx(0.5, abs=1e-6)          # 0-90 % and 90-99 % take the same room
    assert to_axes(93) - to_axes(91) > 0.05                     # the optima are apart
    assert [t for t in ax.get_xticks()] == list(figures.SPARSITY_TICKS)
    with pytest.raises(ValueError, match="axis"):
        figures.sparsity_axis(ax, axis="z")


def test_palette_series_are_distinct():
    from matplotlib.colors import to_rgb

    colours = [to_rgb(c) for c in figures.PALETTE]
    assert len(set(colours)) == len(colours) == len(figures.MARKERS) == len(set(figures.MARKERS))
    closest = min(sum((a - b) ** 2 for a, b in zip(c1, c2)) ** 0.5
                  for i, c1 in enumerate(colours) for c2 in colours[i + 1:])
    assert closest > 0.15


def test_z_axis_is_linear_near_zero_and_labels_plain_numbers():
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([0, 1, 2], [-300, 1, 300])
    figures.z_axis(ax)
    assert ax.get_yscale() == "symlog" and ax.get_ylabel() == "Z"
    fig.canvas.draw()
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert "-100" in labels and "2" in labels and "100" in labels
    # linear within ±2: 1 lies halfway between 0 and 2 on the screen
    y0, y1, y2 = ax.transData.transform([(0, 0), (0, 1), (0, 2)])[:, 1]
    assert abs((y1 - y0) - (y2 - y1)) < 1e-6
    with pytest.raises(ValueError, match="axis"):
        figures.z_axis(ax, "z")
    plt.close(fig)
