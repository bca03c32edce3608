"""Execute the book's chapters with papermill at one preset and render them with Jupyter Book.

``python -m helpers.runner --preset default`` copies the book sources to ``_build/<preset>/``, executes every
chapter listed in ``_toc.yml`` there (in order; any notebook error stops the run with that chapter's name),
then runs ``jupyter-book build`` with warnings as errors. Jupyter Book never executes anything itself
(``execute_notebooks: off``), so its 30 s cell timeout never applies.

``--param NAME=VALUE`` (repeatable) overrides one preset value in every chapter whose ``parameters`` cell has
NAME, e.g. ``--param max_batches=3000``; the staging folder is then ``_build/<preset>+NAME=VALUE...``. All
overrides are validated (:func:`helpers.pipeline.resolve`) before any chapter runs.
"""
from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
import time
from pathlib import Path

from helpers.pipeline import PRESET_NAMES, repo_root, resolve


def toc_entries(root: Path) -> list[str]:
    """Every page of the table of contents (``_toc.yml``, parsed as YAML), in order: the root, then each part's
    chapters, as paths without suffix relative to ``root`` (e.g. ``"book/01_flight_model"``)."""
    import yaml

    toc = yaml.safe_load((root / "_toc.yml").read_text())
    names = [toc["root"]]

    def walk(entries):
        for entry in entries or ():
            if "file" in entry:
                names.append(entry["file"])
            walk(entry.get("sections"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return names


def chapters(root: Path) -> list[Path]:
    """Notebook chapters in table-of-contents order (the :func:`toc_entries` that are ``.ipynb`` files)."""
    return [root / f"{name}.ipynb" for name in toc_entries(root) if (root / f"{name}.ipynb").exists()]


def stage_sources(root: Path, stage: Path) -> None:
    """Fresh copy of the book sources (config, toc, ``book/``) in ``stage``."""
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, stage / name)
    shutil.copytree(root / "book", stage / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_build"))


def parse_params(items: list[str], preset: str) -> dict:
    """``["NAME=VALUE", ...]`` → {NAME: value}; values are Python literals (``3000``, ``0.002``, ``[0.5, 0.9]``) or
    else strings (``cuda``). Raises ``ValueError`` naming a malformed item, an unknown parameter or a bad value."""
    params = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name:
            raise ValueError(f"--param {item!r} is not of the form NAME=VALUE")
        try:
            params[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            params[name] = text
        if name == "preset":
            raise ValueError("set the preset with --preset, not --param")
    resolve(preset, **params)                                  # every value checked before anything runs
    return params


def chapter_params(notebook: Path, params: dict) -> dict:
    """The overrides a chapter takes: those its ``parameters`` cell names."""
    import papermill as pm

    declared = pm.inspect_notebook(str(notebook))
    return {k: v for k, v in params.items() if k in declared}


def selected(root: Path, only: list[str] | None) -> list[Path]:
    """The chapters to run: all, or those whose file name starts with one of ``only``."""
    return [nb for nb in chapters(root) if not only or any(nb.stem.startswith(o) for o in only)]


def check_used(root: Path, params: dict, only: list[str] | None = None) -> None:
    """Raise ``ValueError`` if some override is a parameter of none of the chapters to run."""
    unused = set(params) - {k for nb in selected(root, only) for k in chapter_params(nb, params)}
    if unused:
        raise ValueError(f"--param {sorted(unused)}: no chapter to run has such a parameter")


def execute(stage: Path, preset: str, only: list[str] | None = None, params: dict | None = None) -> None:
    """Run the chapters in ``stage`` with papermill at ``preset``; ``params`` (checked by :func:`parse_params` and
    :func:`check_used`) go to each chapter that has them."""
    import papermill as pm

    params = params or {}
    for notebook in selected(stage, only):
        given = dict(chapter_params(notebook, params), preset=preset)
        start = time.perf_counter()
        print(f"[book] executing {notebook.name} with {given} ...", flush=True)
        pm.execute_notebook(str(notebook), str(notebook), parameters=given, cwd=str(notebook.parent),
                            kernel_name="python3", progress_bar=False, request_save_on_cell_execute=False)
        print(f"[book] {notebook.name} done in {time.perf_counter() - start:.0f} s", flush=True)


#: Cell tags the rendered page leaves out entirely (the notebooks keep and execute these cells).
HIDDEN_CELLS = ("parameters", "injected-parameters")


def prepare_for_reading(stage: Path) -> None:
    """Tag the staged chapters for the page: the ``parameters`` and papermill's injected cell are removed
    (``remove-cell``), every other code cell shows its outputs with its source collapsed (``hide-input``). Only
    the staged copies change; the notebooks in ``book/`` keep their cells as they are."""
    import nbformat

    for notebook in chapters(stage):
        nb = nbformat.read(notebook, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            tags = list(cell.metadata.get("tags", []))
            extra = "remove-cell" if any(t in HIDDEN_CELLS for t in tags) else "hide-input"
            if extra not in tags:
                cell.metadata["tags"] = tags + [extra]
        nbformat.write(nb, notebook)


def render(stage: Path) -> Path:
    """Tag the staged chapters for reading (:func:`prepare_for_reading`) and build the HTML book with warnings
    as errors; returns the HTML folder."""
    prepare_for_reading(stage)
    cmd = [sys.executable, "-m", "jupyter_book", "build", str(stage), "-W", "-n", "--keep-going"]
    jb = Path(sys.executable).with_name("jupyter-book")
    if jb.exists():
        cmd = [str(jb), "build", str(stage), "-W", "-n", "--keep-going"]
    subprocess.run(cmd, check=True)
    return stage / "_build" / "html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default", choices=PRESET_NAMES)
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="override one preset value in every chapter that has the parameter (repeatable)")
    parser.add_argument("--out", type=Path, default=None, help="staging folder (default _build/<preset>)")
    parser.add_argument("--no-execute", action="store_true", help="render the committed outputs as they are")
    parser.add_argument("--only", nargs="*", help="execute only chapters whose file name starts with these")
    args = parser.parse_args(argv)
    root = repo_root()
    try:
        params = parse_params(args.param, args.preset)
        check_used(root, params, args.only)
    except ValueError as err:
        parser.error(str(err))
    name = "+".join([args.preset] + [f"{k}={v}".replace(" ", "") for k, v in sorted(params.items())])
    stage = args.out or root / "_build" / name
    start = time.perf_counter()
    stage_sources(root, stage)
    if not args.no_execute:
        execute(stage, args.preset, args.only, params)
    html = render(stage)
    print(f"[book] rendered {html / 'index.html'} in {time.perf_counter() - start:.0f} s total", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
