"""Execute the book's chapters with papermill at one preset and render them with Jupyter Book.

``python -m helpers.runner --preset default`` copies the book sources to ``_build/<preset>/``, executes every
chapter listed in ``_toc.yml`` there (in order; any notebook error stops the run with that chapter's name),
then runs ``jupyter-book build`` with warnings as errors. Jupyter Book never executes anything itself
(``execute_notebooks: off``), so its 30 s cell timeout never applies.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

from helpers.pipeline import PRESET_NAMES, repo_root


def chapters(root: Path) -> list[Path]:
    """Notebook chapters in table-of-contents order (``_toc.yml`` entries that are ``.ipynb`` files)."""
    found = []
    for line in (root / "_toc.yml").read_text().splitlines():
        line = line.strip()
        for prefix in ("- file:", "root:", "file:"):
            if line.startswith(prefix):
                name = line[len(prefix):].strip()
                if (root / f"{name}.ipynb").exists():
                    found.append(root / f"{name}.ipynb")
    return found


def stage_sources(root: Path, stage: Path) -> None:
    """Fresh copy of the book sources (config, toc, ``book/``) in ``stage``."""
    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, stage / name)
    shutil.copytree(root / "book", stage / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_build"))


def execute(stage: Path, preset: str, only: list[str] | None = None) -> None:
    import papermill as pm

    for notebook in chapters(stage):
        if only and not any(notebook.stem.startswith(o) for o in only):
            continue
        start = time.perf_counter()
        print(f"[book] executing {notebook.name} at preset {preset!r} ...", flush=True)
        pm.execute_notebook(str(notebook), str(notebook), parameters={"preset": preset}, cwd=str(notebook.parent),
                            kernel_name="python3", progress_bar=False, request_save_on_cell_execute=False)
        print(f"[book] {notebook.name} done in {time.perf_counter() - start:.0f} s", flush=True)


def render(stage: Path) -> Path:
    cmd = [sys.executable, "-m", "jupyter_book", "build", str(stage), "-W", "-n", "--keep-going"]
    jb = Path(sys.executable).with_name("jupyter-book")
    if jb.exists():
        cmd = [str(jb), "build", str(stage), "-W", "-n", "--keep-going"]
    subprocess.run(cmd, check=True)
    return stage / "_build" / "html"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default", choices=PRESET_NAMES)
    parser.add_argument("--out", type=Path, default=None, help="staging folder (default _build/<preset>)")
    parser.add_argument("--no-execute", action="store_true", help="render the committed outputs as they are")
    parser.add_argument("--only", nargs="*", help="execute only chapters whose file name starts with these")
    args = parser.parse_args(argv)
    root = repo_root()
    stage = args.out or root / "_build" / args.preset
    start = time.perf_counter()
    stage_sources(root, stage)
    if not args.no_execute:
        execute(stage, args.preset, args.only)
    html = render(stage)
    print(f"[book] rendered {html / 'index.html'} in {time.perf_counter() - start:.0f} s total", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
