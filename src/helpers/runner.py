"""Execute the book's chapters with papermill at one preset and render them with Jupyter Book.

``python -m helpers.runner --preset default`` copies the book sources to ``_build/<preset>/``, executes every
chapter listed in ``_toc.yml`` there (in order; any notebook error stops the run with that chapter's name),
then runs ``jupyter-book build`` with warnings as errors. Jupyter Book never executes anything itself
(``execute_notebooks: off``), so its 30 s cell timeout never applies.

``--param NAME=VALUE`` (repeatable) overrides one preset value in every chapter whose ``parameters`` cell has
NAME, e.g. ``--param max_batches=3000``; the staging folder is then ``_build/<preset>+NAME=VALUE...``. All
overrides are validated (:func:`helpers.pipeline.resolve`) before any chapter runs, and so is where the chapters'
Dask work runs (:func:`check_placement`: the ``scheduler`` address, or ``$HELPERS_SCHEDULER``, well-formed and
reachable).

Each chapter's kernel is started with CurveZMQ transport encryption (:func:`helpers.notebooks.kernel_config`), so
the build's output carries no warning about an unencrypted kernel connection.
"""
from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
import time
from pathlib import Path

from helpers import cluster, notebooks
from helpers.pipeline import PRESET_NAMES, repo_root, resolve
from helpers.sources import git_commit, repository_url


def provenance_config(root: Path) -> dict:
    """What the rendered book says about its source, as ``_config.yml`` entries.

    A footer names the commit the book was built from (and whether the working tree differed from it), linked to
    the repository when its public address is known (:func:`helpers.sources.repository_url`), which also turns
    on the page's repository and source buttons.

    Parameters
    ----------
    root : pathlib.Path
        The repository's working tree (:func:`helpers.sources.git_commit`).

    Returns
    -------
    dict
        ``{"html": {"extra_footer": ...}}``, with a known address also ``"repository"`` (``url``, ``branch``
        ``"main"``, ``path_to_book`` ``"."``) and ``use_repository_button`` / ``use_source_button`` under
        ``"html"``; ``{}`` when the commit is unknown (no git, or not a repository).
    """
    commit, url = git_commit(root), repository_url(root)
    if commit["sha"] is None:
        return {}
    sha = commit["sha"][:7]
    where = f'<a href="{url}/tree/{commit["sha"]}">{sha}</a>' if url else f"<code>{sha}</code>"
    local = " with local changes" if commit["dirty"] else ""
    config = {"html": {"extra_footer": f"<p>Built from commit {where}{local} of the book's repository.</p>"}}
    if url:
        config["repository"] = {"url": url, "branch": "main", "path_to_book": "."}
        config["html"].update(use_repository_button=True, use_source_button=True)
    return config


def merge(base: dict, extra: dict) -> dict:
    """``base`` with the entries of ``extra`` put in, nested dictionaries merged key by key.

    Parameters
    ----------
    base : dict
        The dictionary to start from (e.g. the parsed ``_config.yml``); not changed.
    extra : dict
        The entries to put in; a dict value is merged into ``base``'s entry of that key, any other value
        replaces it.

    Returns
    -------
    dict
        A new dictionary (nested levels that ``extra`` touches are new too).
    """
    out = dict(base)
    for key, value in extra.items():
        out[key] = merge(out.get(key, {}), value) if isinstance(value, dict) else value
    return out


def stage_sources(root: Path, stage: Path) -> None:
    """Fresh copy of the book sources (config, toc, ``book/``) in ``stage``.

    The staged ``_config.yml`` also carries the book's provenance (:func:`provenance_config`); checkpoints and
    build folders under ``book/`` are not copied.

    Parameters
    ----------
    root : pathlib.Path
        The repository root, holding ``_toc.yml``, ``_config.yml`` and ``book/``.
    stage : pathlib.Path
        The staging folder; removed first if it exists, then created.
    """
    import yaml

    if stage.exists():
        shutil.rmtree(stage)
    stage.mkdir(parents=True)
    shutil.copy2(root / "_toc.yml", stage / "_toc.yml")
    config = merge(yaml.safe_load((root / "_config.yml").read_text()), provenance_config(root))
    (stage / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True))
    shutil.copytree(root / "book", stage / "book", ignore=shutil.ignore_patterns(".ipynb_checkpoints", "_build"))


def parse_params(items: list[str], preset: str) -> dict:
    """``["NAME=VALUE", ...]`` → {NAME: value}, every value checked against the preset's parameters.

    Parameters
    ----------
    items : list of str
        The ``--param`` arguments, each ``NAME=VALUE``; values are Python literals (``3000``, ``0.002``,
        ``[0.5, 0.9]``) or else strings (``cuda``). A later item of the same name wins.
    preset : str
        The preset the overrides apply to (:data:`helpers.pipeline.PRESET_NAMES`).

    Returns
    -------
    dict
        ``{NAME: value}`` with the values as parsed (not converted by the check).

    Raises
    ------
    ValueError
        Naming a malformed item (no ``=`` or no name), ``preset`` given as a parameter, an unknown parameter or a
        bad value (:func:`helpers.pipeline.resolve`), or an unknown preset.
    """
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
    """The overrides a chapter takes: those its ``parameters`` cell names.

    Parameters
    ----------
    notebook : pathlib.Path
        The chapter's notebook (read with ``papermill.inspect_notebook``).
    params : dict
        All overrides, ``{NAME: value}``.

    Returns
    -------
    dict
        The entries of ``params`` whose name the chapter's ``parameters`` cell declares.
    """
    import papermill as pm

    declared = pm.inspect_notebook(str(notebook))
    return {k: v for k, v in params.items() if k in declared}


def selected(root: Path, only: list[str] | None) -> list[Path]:
    """The chapters to run: all, or those whose file name starts with one of ``only``.

    Parameters
    ----------
    root : pathlib.Path
        The folder holding ``_toc.yml`` and the chapters (:func:`helpers.notebooks.chapters`).
    only : list of str or None
        File-name prefixes (e.g. ``["03", "05_motifs"]``); ``None`` or empty for every chapter.

    Returns
    -------
    list of pathlib.Path
        The selected notebooks, in table-of-contents order.
    """
    return [nb for nb in notebooks.chapters(root) if not only or any(nb.stem.startswith(o) for o in only)]


def check_used(root: Path, params: dict, only: list[str] | None = None) -> None:
    """Raise ``ValueError`` if some override is a parameter of none of the chapters to run.

    Parameters
    ----------
    root : pathlib.Path
        The folder holding ``_toc.yml`` and the chapters.
    params : dict
        The overrides, ``{NAME: value}`` (:func:`parse_params`).
    only : list of str or None
        File-name prefixes of the chapters to run (:func:`selected`); ``None`` for all.

    Raises
    ------
    ValueError
        Naming the overrides that no selected chapter's ``parameters`` cell declares.
    """
    unused = set(params) - {k for nb in selected(root, only) for k in chapter_params(nb, params)}
    if unused:
        raise ValueError(f"--param {sorted(unused)}: no chapter to run has such a parameter")


def check_placement(root: Path, params: dict, only: list[str] | None = None,
                    timeout: float = cluster.CONNECT_TIMEOUT_S) -> str | None:
    """Check where the chapters to run will do their Dask work, before any of them runs.

    The checks :mod:`helpers.cluster` applies when a chapter connects (:func:`helpers.cluster.resolve`,
    :func:`helpers.cluster.check_reachable`, :func:`helpers.cluster.resolve_timeout`), made up front, so that a
    bad address stops the build before the first chapter instead of in the chapter that first uses it. Only
    when some chapter to run has a ``scheduler`` parameter (the chapters that run the motif census).

    Parameters
    ----------
    root : pathlib.Path
        The folder holding ``_toc.yml`` and the chapters.
    params : dict
        The overrides (:func:`parse_params`); ``scheduler`` among them, if given, else ``$HELPERS_SCHEDULER``
        or a local cluster.
    only : list of str or None
        File-name prefixes of the chapters to run (:func:`selected`); ``None`` for all.
    timeout : float
        Seconds allowed for reaching an external scheduler.

    Returns
    -------
    str or None
        The address of the external scheduler the chapters will use, or ``None`` (a local cluster, or no chapter
        to run has a ``scheduler`` parameter).

    Raises
    ------
    ValueError
        Naming the parameter ``scheduler`` (or the environment variable ``HELPERS_SCHEDULER``) and its value when
        the address is malformed, or ``HELPERS_NO_WORKER_TIMEOUT`` when it is not a positive number.
    ConnectionError
        Naming the address when nothing listens there.
    """
    if not any(chapter_params(nb, {"scheduler": None}) for nb in selected(root, only)):
        return None
    address = cluster.resolve(params.get("scheduler"))
    cluster.resolve_timeout()
    if address is not None:
        cluster.check_reachable(address, timeout)
    return address


def execute(stage: Path, preset: str, only: list[str] | None = None, params: dict | None = None) -> None:
    """Run the chapters in ``stage`` with papermill at ``preset``, in place and in table-of-contents order.

    Each chapter runs in its own folder with kernel ``python3`` (:func:`helpers.notebooks.execute`, which starts
    it with an encrypted connection); its name and duration are printed.

    Parameters
    ----------
    stage : pathlib.Path
        The staging folder (:func:`stage_sources`).
    preset : str
        The preset every chapter runs at (:data:`helpers.pipeline.PRESET_NAMES`).
    only : list of str or None
        File-name prefixes of the chapters to run (:func:`selected`); ``None`` for all.
    params : dict or None
        Overrides (checked by :func:`parse_params` and :func:`check_used`); each goes to every chapter that has
        it (:func:`chapter_params`).

    Raises
    ------
    papermill.PapermillExecutionError
        From papermill when a cell of a chapter raises; the chapters after it are not run.
    """
    params = params or {}
    for notebook in selected(stage, only):
        given = dict(chapter_params(notebook, params), preset=preset)
        start = time.perf_counter()
        print(f"[book] executing {notebook.name} with {given} ...", flush=True)
        notebooks.execute(notebook, given)
        print(f"[book] {notebook.name} done in {time.perf_counter() - start:.0f} s", flush=True)


#: Parameters that say where work runs, not what it computes: they do not name the staging folder.
PLACEMENT_PARAMS = ("scheduler",)


#: Cell tags the rendered page leaves out entirely (the notebooks keep and execute these cells).
HIDDEN_CELLS = ("parameters", "injected-parameters")
#: How a code cell's source appears: collapsed on the web page, left out of the PDF.
CODE_TAGS = {"html": "hide-input", "pdf": "remove-input"}


def prepare_for_reading(stage: Path, medium: str = "html") -> None:
    """Tag the staged chapters for ``medium``: which cells and sources the rendered pages show.

    The ``parameters`` and papermill's injected cell are removed (``remove-cell``), every other code cell shows
    its outputs with its source collapsed (``hide-input``, web page) or left out (``remove-input``, PDF). Only
    the staged copies change; the notebooks in ``book/`` keep their cells as they are.

    Parameters
    ----------
    stage : pathlib.Path
        The staging folder; its chapters (:func:`helpers.notebooks.chapters`) are rewritten. Tags of an earlier call for another
        medium are replaced.
    medium : {"html", "pdf"}
        The rendered form (:data:`CODE_TAGS`).

    Raises
    ------
    ValueError
        For another medium.
    """
    import nbformat

    if medium not in CODE_TAGS:
        raise ValueError(f"medium={medium!r}: must be one of {sorted(CODE_TAGS)}")
    for notebook in notebooks.chapters(stage):
        nb = nbformat.read(notebook, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            tags = [t for t in cell.metadata.get("tags", []) if t not in CODE_TAGS.values()]
            extra = "remove-cell" if any(t in HIDDEN_CELLS for t in tags) else CODE_TAGS[medium]
            cell.metadata["tags"] = tags + [extra] if extra not in tags else tags
        nbformat.write(nb, notebook)


def jupyter_book(stage: Path, *options: str) -> None:
    """``jupyter-book build stage`` with warnings as errors and ``options``; raises on failure.

    The build runs with ``-W -n --keep-going`` (warnings as errors, nitpicky references, every problem reported),
    through the ``jupyter-book`` script next to the Python interpreter, or ``python -m jupyter_book``.

    Parameters
    ----------
    stage : pathlib.Path
        The staging folder (the book's root).
    *options : str
        Further command-line options, e.g. ``"--builder", "latex"``.

    Raises
    ------
    subprocess.CalledProcessError
        When the build fails.
    """
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb)] if jb.exists() else [sys.executable, "-m", "jupyter_book"]
    subprocess.run(cmd + ["build", str(stage), "-W", "-n", "--keep-going", *options], check=True)


def render(stage: Path) -> Path:
    """Tag the staged chapters for reading (:func:`prepare_for_reading`) and build the HTML book.

    The build treats warnings as errors (:func:`jupyter_book`).

    Parameters
    ----------
    stage : pathlib.Path
        The staging folder, its chapters executed (or with the committed outputs).

    Returns
    -------
    pathlib.Path
        The HTML folder, ``stage/_build/html``.

    Raises
    ------
    subprocess.CalledProcessError
        When the build fails.
    """
    prepare_for_reading(stage, "html")
    jupyter_book(stage)
    return stage / "_build" / "html"


def render_pdf(stage: Path) -> Path:
    """The whole book as one PDF, ``stage/_build/latex/book.pdf``, from the same staged (executed) chapters.

    Sphinx's LaTeX builder (through Jupyter Book), then ``latexmk`` with XeLaTeX (Debian's TeX Live; ``make
    latex`` installs it). Glued figures shown on another page than their chapter's (the landing page's
    headline figure) are written by myst-nb with a path one folder too high for the LaTeX folder, where Sphinx
    copies every image; those paths are corrected before LaTeX runs. The chapters are tagged for the PDF
    (:func:`prepare_for_reading`), which replaces their web-page tags.

    Parameters
    ----------
    stage : pathlib.Path
        The staging folder, its chapters executed.

    Returns
    -------
    pathlib.Path
        The PDF, ``stage/_build/latex/book.pdf``.

    Raises
    ------
    subprocess.CalledProcessError
        When either step fails (the LaTeX log is ``stage/_build/latex/book.log``).
    """
    prepare_for_reading(stage, "pdf")
    jupyter_book(stage, "--builder", "latex")
    latex = stage / "_build" / "latex"
    tex = latex / "book.tex"
    tex.write_text(tex.read_text().replace(r"\sphinxincludegraphics{{../", r"\sphinxincludegraphics{{"))
    subprocess.run(["latexmk", "-pdfxe", "-interaction=nonstopmode", "-halt-on-error", "book.tex"], cwd=latex,
                   check=True, stdout=subprocess.DEVNULL)
    return latex / "book.pdf"


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.runner``: stage, execute and render the book (see the module doc).

    Parameters
    ----------
    argv : list of str or None
        The command-line arguments (default ``sys.argv[1:]``): ``--preset`` (one of
        :data:`helpers.pipeline.PRESET_NAMES`, default ``default``), ``--param NAME=VALUE`` (repeatable),
        ``--out`` (staging folder, default ``_build/<preset>[+NAME=VALUE...]``), ``--no-execute`` (render the
        committed outputs), ``--only PREFIX ...`` (execute only those chapters) and ``--pdf`` (also render the
        PDF, :func:`render_pdf`).

    Returns
    -------
    int
        The exit status, 0 (every failure raises).

    Raises
    ------
    SystemExit
        From ``argparse`` for bad arguments, and for an override that :func:`parse_params` or :func:`check_used`
        rejects, or a scheduler that :func:`check_placement` rejects (with its message), before anything is
        staged or executed.
    papermill.PapermillExecutionError, subprocess.CalledProcessError
        When a chapter fails or a build fails.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="default", choices=PRESET_NAMES)
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="override one preset value in every chapter that has the parameter (repeatable)")
    parser.add_argument("--out", type=Path, default=None, help="staging folder (default _build/<preset>)")
    parser.add_argument("--no-execute", action="store_true", help="render the committed outputs as they are")
    parser.add_argument("--only", nargs="*", help="execute only chapters whose file name starts with these")
    parser.add_argument("--pdf", action="store_true", help="also render the whole book as one PDF (make latex)")
    args = parser.parse_args(argv)
    root = repo_root()
    try:
        params = parse_params(args.param, args.preset)
        check_used(root, params, args.only)
        if not args.no_execute:
            check_placement(root, params, args.only)
    except (ValueError, ConnectionError) as err:
        parser.error(str(err))
    name = "+".join([args.preset] + [f"{k}={v}".replace(" ", "") for k, v in sorted(params.items())
                                     if k not in PLACEMENT_PARAMS])
    stage = args.out or root / "_build" / name
    start = time.perf_counter()
    stage_sources(root, stage)
    if not args.no_execute:
        execute(stage, args.preset, args.only, params)
    html = render(stage)
    print(f"[book] rendered {html / 'index.html'} in {time.perf_counter() - start:.0f} s total", flush=True)
    if args.pdf:
        pdf = render_pdf(stage)
        print(f"[book] rendered {pdf} in {time.perf_counter() - start:.0f} s total", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
