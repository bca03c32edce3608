"""The committed chapters: re-executed at the ``ci`` preset and normalised, so that a change shows as a diff.

papermill writes execution timestamps and durations into every cell, and gives its injected-parameters cell a new
random id on every run; committed as they are, two runs of an unchanged chapter differ in hundreds of lines.
:func:`normalise` removes what changes from run to run (papermill's and Jupyter's execution metadata) and gives
the injected cell a fixed id (the other cells keep theirs, which papermill preserves), keeping sources, outputs
and tags as they are.
``python -m helpers.notebooks`` re-executes the chapters at ``ci`` (the outputs that ``make test`` compares) and
normalises them; ``--check`` only reports chapters that are not normalised (``tests/test_notebooks.py``).

:func:`execute` is the one way a chapter is executed (here and by :mod:`helpers.runner`): papermill with kernel
``python3``, whose connection is encrypted with CurveZMQ keys that the kernel manager provisions
(:func:`kernel_config`), so the kernel prints no ``Kernel is running over TCP without encryption`` warning.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

#: Cell-metadata keys written by an execution (papermill, Jupyter), never by an author.
EXECUTION_KEYS = ("papermill", "execution")


def toc_entries(root: Path) -> list[str]:
    """Every page of the table of contents (``_toc.yml``, parsed as YAML), in order.

    Parameters
    ----------
    root : pathlib.Path
        The folder holding ``_toc.yml`` (the repository root, or a staging folder).

    Returns
    -------
    list of str
        The root, then each part's chapters (and their nested ``sections``), then any top-level ``chapters``, as
        paths without suffix relative to ``root`` (e.g. ``"book/01_flight_model"``).

    Raises
    ------
    FileNotFoundError
        If ``root`` has no ``_toc.yml``.
    """
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
    """Notebook chapters in table-of-contents order (the :func:`toc_entries` that are ``.ipynb`` files).

    Parameters
    ----------
    root : pathlib.Path
        The folder holding ``_toc.yml`` and the pages.

    Returns
    -------
    list of pathlib.Path
        ``root / "<entry>.ipynb"`` for every entry whose notebook exists (markdown pages are left out).
    """
    return [root / f"{name}.ipynb" for name in toc_entries(root) if (root / f"{name}.ipynb").exists()]


def normalised(nb):
    """A copy of the ``nbformat`` notebook ``nb`` without execution metadata, papermill's injected cell with a fixed id.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        The notebook (version 4), not changed.

    Returns
    -------
    nbformat.NotebookNode
        A deep copy without the notebook's ``papermill`` metadata and without the cells' :data:`EXECUTION_KEYS`
        metadata; the cell tagged ``injected-parameters`` gets the id ``"injected-parameters"``. Sources,
        outputs, tags and the other cells' ids are kept as they are.
    """
    nb = copy.deepcopy(nb)
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        for key in EXECUTION_KEYS:
            cell.metadata.pop(key, None)
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
    return nb


def is_normalised(path: Path) -> bool:
    """Whether the notebook file at ``path`` equals its :func:`normalised` form.

    Parameters
    ----------
    path : pathlib.Path
        A notebook file (``.ipynb``), read as nbformat version 4; not changed.

    Returns
    -------
    bool
        True if normalising would not change it.
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    return nb == normalised(nb)


def normalise(path: Path) -> bool:
    """Rewrite the notebook at ``path`` normalised (:func:`normalised`).

    Parameters
    ----------
    path : pathlib.Path
        A notebook file (``.ipynb``); written back only if normalising changes it.

    Returns
    -------
    bool
        Whether it changed (and so was rewritten).
    """
    import nbformat

    nb = nbformat.read(path, as_version=4)
    clean = normalised(nb)
    if clean == nb:
        return False
    nbformat.write(clean, path)
    return True


def kernel_config():
    """The configuration of the kernel manager that papermill starts a chapter's kernel with.

    The kernel's ZeroMQ connection is encrypted with CurveZMQ keys the kernel manager provisions
    (``KernelManager.transport_encryption = "required"``; the ``python3`` kernelspec of ipykernel declares
    support), instead of plain TCP on the loopback interface, about which the kernel warns on every start. Where
    pyzmq was built without CurveZMQ (``zmq.has("curve")`` false) the connection stays unencrypted (and the kernel
    warns).

    Returns
    -------
    traitlets.config.Config
        ``{"KernelManager": {"transport_encryption": "required"}}``, or ``"disabled"`` without CurveZMQ.
    """
    import zmq
    from traitlets.config import Config

    return Config({"KernelManager": {"transport_encryption": "required" if zmq.has("curve") else "disabled"}})


def execute(path: Path, parameters: dict, *, output: Path | None = None, save_each_cell: bool = False):
    """Execute a notebook with papermill in its own folder, kernel ``python3`` on an encrypted connection.

    Parameters
    ----------
    path : pathlib.Path
        The notebook; papermill injects ``parameters`` after its ``parameters`` cell.
    parameters : dict
        ``{NAME: value}`` for papermill.
    output : pathlib.Path or None
        Where the executed notebook is written; ``None``: over ``path``.
    save_each_cell : bool
        Write the output notebook after every cell (papermill's ``request_save_on_cell_execute``), not only at
        the end.

    Returns
    -------
    nbformat.NotebookNode
        The executed notebook.

    Raises
    ------
    papermill.PapermillExecutionError
        From papermill when a cell raises; the output notebook then holds the outputs up to that cell.
    """
    import papermill as pm

    return pm.execute_notebook(str(path), str(output or path), parameters=parameters, cwd=str(Path(path).parent),
                               kernel_name="python3", progress_bar=False,
                               request_save_on_cell_execute=save_each_cell, config=kernel_config())


def execute_ci(path: Path) -> None:
    """Re-execute the chapter at ``path`` in place at the ``ci`` preset (:func:`execute`, in the chapter's folder).

    Parameters
    ----------
    path : pathlib.Path
        The chapter's notebook; overwritten with the executed notebook (kernel ``python3``, parameter
        ``preset="ci"``).

    Raises
    ------
    papermill.PapermillExecutionError
        From papermill when a cell raises; the notebook is then written with the outputs up to that cell.
    """
    execute(path, {"preset": "ci"}, save_each_cell=True)


def main(argv: list[str] | None = None) -> int:
    """``python -m helpers.notebooks``: re-execute the chapters at ``ci`` and normalise them, or only check them.

    Parameters
    ----------
    argv : list of str or None
        The command-line arguments (default ``sys.argv[1:]``): the chapters' notebook paths (default every chapter
        of the table of contents, :func:`chapters`), ``--check`` (only list, on stderr, the
        chapters that are not normalised) and ``--no-execute`` (normalise without re-executing).

    Returns
    -------
    int
        The exit status: 0, or with ``--check`` 1 when some chapter is not normalised.

    Raises
    ------
    SystemExit
        From ``argparse`` for unknown arguments or ``--help``.
    """
    from helpers.pipeline import repo_root

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("chapters", nargs="*", type=Path, help="notebooks (default: every chapter of the toc)")
    parser.add_argument("--check", action="store_true", help="only list the chapters that are not normalised")
    parser.add_argument("--no-execute", action="store_true", help="normalise without re-executing")
    args = parser.parse_args(argv)
    paths = args.chapters or chapters(repo_root())
    if args.check:
        stale = [p for p in paths if not is_normalised(p)]
        for p in stale:
            print(f"{p}: not normalised (run `make notebooks`)", file=sys.stderr)
        return 1 if stale else 0
    for path in paths:
        if not args.no_execute:
            print(f"executing {path.name} at ci ...", flush=True)
            execute_ci(path)
        normalise(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
