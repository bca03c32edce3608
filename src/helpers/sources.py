"""What code a result depends on: the helper modules a module imports, and a digest of their code.

Artifact keys (:func:`helpers.pipeline.code_version`) and the compiled-kernel cache (``helpers/__init__.py``) must
change when the code that produced them changes, and only then: editing a comment or a docstring must not re-key
a run that takes hours. :func:`digest` therefore hashes each module's syntax tree with its docstrings removed
(comments and formatting never reach the tree), and :func:`closure` finds the helper modules a module imports,
directly or through others, at top level or inside functions. :func:`git_commit` and :func:`repository_url` say
which commit of which repository a shipped data set or a rendered book came from.
"""
from __future__ import annotations

import ast
import hashlib
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Any

#: The folder of the helper package.
PACKAGE = Path(__file__).parent


def _imports(path: Path) -> set[str]:
    """Names of the helper modules that the module at ``path`` imports anywhere in its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found |= {a.name.split(".")[1] for a in node.names if a.name.startswith("helpers.")}
        elif isinstance(node, ast.ImportFrom):
            if node.module == "helpers" or (node.level == 1 and node.module is None):
                found |= {a.name for a in node.names}
            elif node.module and node.module.startswith("helpers."):
                found.add(node.module.split(".")[1])
            elif node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
    return {name for name in found if (PACKAGE / f"{name}.py").exists()}


def closure(module: str) -> tuple[str, ...]:
    """``module`` and every helper module it imports, directly or through others, sorted by name.

    Imports anywhere in a module's code count (top level or inside functions); only modules of the helper
    package (files in :data:`PACKAGE`) are followed.

    Parameters
    ----------
    module : str
        A helper module's name without package or suffix, e.g. ``"stats"``.

    Returns
    -------
    tuple of str
        The module names (``module`` included), sorted.

    Raises
    ------
    ValueError
        If there is no ``module.py`` in :data:`PACKAGE`.
    """
    seen, todo = set(), [module]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if not (PACKAGE / f"{name}.py").exists():
            raise ValueError(f"no helper module {name!r} in {PACKAGE}")
        seen.add(name)
        todo.extend(_imports(PACKAGE / f"{name}.py") - seen)
    return tuple(sorted(seen))


def _code_only(tree: ast.AST) -> ast.AST:
    """``tree`` without the docstrings of its module, classes and functions."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                    and isinstance(body[0].value.value, str):
                node.body = body[1:] or [ast.Pass()]
    return tree


def digest(paths: Iterable[Path]) -> str:
    """Hex SHA-256 over the code of the given Python files, blind to comments, docstrings and formatting.

    Parameters
    ----------
    paths : iterable of pathlib.Path or str
        The Python files, hashed in the order given: the file name and the docstring-free syntax tree of each
        (module, class and function docstrings removed; the folder is not hashed).

    Returns
    -------
    str
        64 hexadecimal digits: the same for two versions that differ only in comments, docstrings or
        formatting.

    Raises
    ------
    SyntaxError
        From :func:`ast.parse` for a file that is not valid Python.
    """
    h = hashlib.sha256()
    for path in paths:
        path = Path(path)
        tree = _code_only(ast.parse(path.read_text(), filename=str(path)))
        h.update(path.name.encode())
        h.update(ast.dump(tree, annotate_fields=False, include_attributes=False).encode())
    return h.hexdigest()


def git_commit(root: Path | None = None) -> dict[str, Any]:
    """The commit of the working tree (``sha``) and whether tracked files differ from it (``dirty``).

    Parameters
    ----------
    root : pathlib.Path or None
        A folder of the working tree; ``None`` for the repository this package lies in.

    Returns
    -------
    dict
        ``{"sha": str, "dirty": bool}``: the full 40-digit commit of ``HEAD``, and whether ``git status`` lists a
        changed tracked file (untracked files do not count); ``{"sha": None, "dirty": None}`` without git or
        outside a repository.
    """
    root = root or PACKAGE.parents[1]
    try:
        sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True,
                             check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=root,
                                    capture_output=True, text=True, check=True).stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return {"sha": None, "dirty": None}
    return {"sha": sha, "dirty": dirty}


def repository_url(root: Path | None = None) -> str | None:
    """The public address of this repository: ``$BOOK_REPOSITORY`` if set, else the ``origin`` remote.

    Parameters
    ----------
    root : pathlib.Path or None
        A folder of the working tree whose ``origin`` is asked; ``None`` for the repository this package lies in.

    Returns
    -------
    str or None
        The address when it is an ``https://`` one, without a trailing ``.git`` (an ``ssh`` remote
        ``git@host:owner/name.git`` becomes ``https://host/owner/name``); ``None`` for a clone of a local folder,
        without an ``origin`` remote or without git.
    """
    import os

    url = os.environ.get("BOOK_REPOSITORY")
    if url is None:
        try:
            url = subprocess.run(["git", "remote", "get-url", "origin"], cwd=root or PACKAGE.parents[1],
                                 capture_output=True, text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            return None
    if url.startswith("git@") and ":" in url:
        host, path = url[4:].split(":", 1)
        url = f"https://{host}/{path}"
    url = url.removesuffix(".git")
    return url if url.startswith("https://") else None
