"""Every public function of the helper package documents itself in the numpydoc layout.

A public function or method (a name without a leading underscore, in a module of ``src/helpers``) needs a
docstring; one that takes arguments needs a ``Parameters`` section naming each of them, and one that returns a
value (a ``return`` with a value) a ``Returns`` (or ``Yields``) section. Docstrings refer to chapters of the book
or to the original's code, not to documents outside the repository.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from helpers import sources

MODULES = sorted(p for p in sources.PACKAGE.glob("*.py") if p.name != "__init__.py")


def section(doc: str, title: str) -> str | None:
    """The body of numpydoc section ``title`` (up to the next section), or None."""
    match = re.search(rf"^\s*{title}\n\s*-{{3,}}\n(.*?)(?=^\s*\w[\w ]*\n\s*-{{3,}}\n|\Z)", doc, re.S | re.M)
    return match.group(1) if match else None


def returns_value(node: ast.FunctionDef) -> bool:
    """Whether the function's own body (not nested functions) has ``return <value>``."""
    todo = list(node.body)
    while todo:
        child = todo.pop()
        if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            continue
        if isinstance(child, ast.Return) and child.value is not None and not (
                isinstance(child.value, ast.Constant) and child.value.value is None):
            return True
        todo.extend(ast.iter_child_nodes(child))
    return False


def problems(path: Path) -> list[str]:
    """What the public functions of the module at ``path`` lack, one line each."""
    tree = ast.parse(path.read_text())
    found = []
    module_doc = ast.get_docstring(tree) or ""
    if not module_doc:
        found.append(f"{path.name}: no module docstring")

    def visit(body, owner=""):
        for node in body:
            if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                if not ast.get_docstring(node):
                    found.append(f"{path.name}:{node.lineno} class {node.name}: no docstring")
                visit(node.body, f"{node.name}.")
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not node.name.startswith("_"):
                if any(isinstance(d, ast.Attribute) and d.attr == "setter" for d in node.decorator_list):
                    continue
                name, doc = f"{owner}{node.name}", ast.get_docstring(node) or ""
                where = f"{path.name}:{node.lineno} {name}"
                if not doc:
                    found.append(f"{where}: no docstring")
                    continue
                args = [a.arg for a in node.args.posonlyargs + node.args.args + node.args.kwonlyargs
                        if a.arg not in ("self", "cls")]
                args += [f"**{node.args.kwarg.arg}"] if node.args.kwarg else []
                args += [f"*{node.args.vararg.arg}"] if node.args.vararg else []
                params = section(doc, "Parameters")
                if args and params is None:
                    found.append(f"{where}: no Parameters section")
                elif args:
                    missing = [a for a in args if not re.search(rf"(^|[\s,]){re.escape(a)}\b", params)]
                    if missing:
                        found.append(f"{where}: Parameters does not name {missing}")
                is_property = any(isinstance(d, ast.Name) and d.id in ("property", "cached_property")
                                  for d in node.decorator_list)
                if returns_value(node) and not is_property and section(doc, "Returns") is None \
                        and section(doc, "Yields") is None:
                    found.append(f"{where}: no Returns section")

    visit(tree.body)
    for line_no, line in enumerate(path.read_text().splitlines(), 1):
        if re.search(r"\bSPEC\s*(§|B\d|order)", line):
            found.append(f"{path.name}:{line_no}: refers to a document outside the repository ({line.strip()[:60]})")
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_public_functions_have_numpydoc_docstrings(path):
    assert not problems(path), "\n".join(problems(path))


def test_the_check_finds_what_is_missing(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text('"""A module."""\n\ndef f(a, b):\n    """Does f.\n\n    Parameters\n    ----------\n'
                   '    a : int\n    """\n    return a + b\n\n\ndef g():\n    pass\n')
    assert problems(bad) == ["bad.py:3 f: Parameters does not name ['b']", "bad.py:3 f: no Returns section",
                             "bad.py:13 g: no docstring"]
