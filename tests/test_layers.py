"""No helper module, benchmark or test reaches into another helper module's private (underscore) names.

What one module uses of another is its public interface: ``helpers.X._y`` (``X._y`` after ``from helpers import
X``, ``from . import X`` or ``import helpers.X as X``), ``getattr(X, "_y")`` and ``from helpers.X import _y`` /
``from .X import _y`` are refused unless ``X`` is the file's own module: ``src/helpers/X.py`` itself, and its
tests ``tests/test_X.py`` and benchmark ``benchmarks/bench_X.py``, which may reach its private kernels when
nothing public can test or time them. Dunder names (``X.__file__``) are not private.
"""
from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from helpers import sources

ROOT = sources.PACKAGE.parents[1]
HELPERS = frozenset(p.stem for p in sources.PACKAGE.glob("*.py") if p.stem != "__init__")
FILES = sorted([*sources.PACKAGE.glob("*.py"), *(ROOT / "benchmarks").glob("*.py"), *(ROOT / "tests").glob("*.py")])

def own_module(path: Path) -> str | None:
    """The helper module whose privates ``path`` may use: its own, or the one a test or benchmark is named after."""
    if path.parent == sources.PACKAGE:
        return path.stem
    for prefix in ("test_", "bench_"):
        if path.stem.startswith(prefix) and path.stem[len(prefix):] in HELPERS:
            return path.stem[len(prefix):]
    return None


def private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def helper_of(module: str | None, level: int, in_package: bool) -> str | None:
    """The helper module named by an import's ``module`` (``helpers.X``, or ``.X`` inside the package)."""
    if level == 0 and module and module.startswith("helpers."):
        name = module.split(".")[1]
    elif level == 1 and in_package and module:
        name = module.split(".")[0]
    else:
        return None
    return name if name in HELPERS else None


def violations(source: str, filename: str, own: str | None, in_package: bool = False) -> list[tuple[int, str]]:
    """(line, "module._name") of every access in ``source`` to a private name of a helper module other than
    ``own``; ``in_package``: whether relative imports (``from . import X``) refer to the helper package."""
    tree = ast.parse(source, filename=filename)
    modules: dict[str, str] = {}         # local name → helper module it is bound to
    packages: set[str] = set()           # local names bound to the package ``helpers`` itself
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] != "helpers":
                    continue
                if a.asname is None:
                    packages.add("helpers")
                elif len(parts) == 2 and parts[1] in HELPERS:
                    modules[a.asname] = parts[1]
                elif len(parts) == 1:
                    packages.add(a.asname)
        elif isinstance(node, ast.ImportFrom):
            from_package = (node.level == 0 and node.module == "helpers") or \
                (node.level == 1 and node.module is None and in_package)
            target = helper_of(node.module, node.level, in_package)
            for a in node.names:
                if from_package and a.name in HELPERS:
                    modules[a.asname or a.name] = a.name
                elif from_package and private(a.name):
                    found.append((node.lineno, f"helpers.{a.name}"))
                elif target and target != own and private(a.name):
                    found.append((node.lineno, f"{target}.{a.name}"))

    def module_of(expr: ast.AST) -> str | None:
        if isinstance(expr, ast.Name):
            return modules.get(expr.id)
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name) and expr.value.id in packages:
            return expr.attr if expr.attr in HELPERS else None
        return None

    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            target = module_of(node.value)
            if target and target != own:
                found.append((node.lineno, f"{target}.{node.attr}"))
            elif isinstance(node.value, ast.Name) and node.value.id in packages:
                found.append((node.lineno, f"helpers.{node.attr}"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in ("getattr", "hasattr") \
                and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant) \
                and isinstance(node.args[1].value, str) and private(node.args[1].value):
            target = module_of(node.args[0])
            if target and target != own:
                found.append((node.lineno, f"{target}.{node.args[1].value}"))
    return sorted(found)


def scan() -> dict[str, list[tuple[int, str]]]:
    """Every violation of every checked file, by file path relative to the repository."""
    out = {}
    for path in FILES:
        found = violations(path.read_text(), str(path), own_module(path), in_package=path.parent == sources.PACKAGE)
        if found:
            out[path.relative_to(ROOT).as_posix()] = found
    return out


def test_no_module_uses_another_modules_private_names():
    bad = [f"{path}:{line}: {name}" for path, found in scan().items() for line, name in found]
    assert not bad, "private names of another helper module (make them public or go through the public API):\n" \
        + "\n".join(bad)


def test_the_checked_files_include_the_kernels_benchmarks_and_tests():
    names = {p.relative_to(ROOT).as_posix() for p in FILES}
    assert {"src/helpers/bits.py", "src/helpers/rng.py", "src/helpers/motifs.py", "src/helpers/nulls.py",
            "benchmarks/bench_motifs.py", "tests/test_nulls.py", "tests/test_layers.py"} <= names


PLANTED = '''
import helpers.motifs
import helpers.graph as g
from helpers import nulls, stats as st
from helpers.motifs import count_raw, _KERNELS
from helpers import _key_numba_cache
import helpers


def f(x):
    from helpers import census
    helpers.motifs._layer(x)
    g._private(x)
    census._cell(x)
    getattr(nulls, "_check")
    return nulls._run, st._table, helpers.bits._M1, count_raw(x), nulls.MODELS, g.__file__, x._y
'''


def test_a_planted_example_is_caught_with_its_lines():
    assert violations(PLANTED, "planted.py", own=None) == [
        (5, "motifs._KERNELS"), (6, "helpers._key_numba_cache"), (12, "motifs._layer"), (13, "graph._private"),
        (14, "census._cell"), (15, "nulls._check"), (16, "bits._M1"), (16, "nulls._run"), (16, "stats._table")]


def test_a_module_may_use_its_own_privates_and_relative_imports_count_inside_the_package():
    own = "from .bits import popcount\nfrom .motifs import _layer\nfrom . import rng\nrng._MIX1\n_layer(1)\n"
    assert violations(own, "motifs.py", own="motifs", in_package=True) == [(4, "rng._MIX1")]
    assert violations(own, "nulls.py", own="nulls", in_package=True) == [(2, "motifs._layer"), (4, "rng._MIX1")]
    assert violations(own, "elsewhere.py", own=None, in_package=False) == []
    assert own_module(ROOT / "tests" / "test_nulls.py") == "nulls"
    assert own_module(ROOT / "benchmarks" / "bench_simulator.py") is None
    assert own_module(sources.PACKAGE / "bits.py") == "bits"


@pytest.mark.parametrize("snippet", ["from helpers.rng import _GOLDEN\n", "from helpers import rng\nrng._GOLDEN\n"])
def test_the_scan_fails_on_a_planted_file(snippet, tmp_path, monkeypatch):
    planted = tmp_path / "test_planted.py"
    planted.write_text(snippet)
    monkeypatch.setattr(sys.modules[__name__], "FILES", [planted])
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    with pytest.raises(AssertionError, match=r"test_planted.py:\d+: rng._GOLDEN"):
        test_no_module_uses_another_modules_private_names()
