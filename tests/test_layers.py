"""Layers: ``analysis/``, ``models/`` and ``preprocessing/`` never reach up into ``bench/`` beyond
its kernel, and ``models/`` and ``preprocessing/`` never import ``analysis/``. Every import counts,
function-local ones included (they are found in the syntax tree, not by importing)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
KERNEL = {"bench.errors", "bench.registry", "bench.workspace"}
# package -> top-level packages it may not import (the bench kernel excepted)
FORBIDDEN = {"analysis": {"bench"}, "models": {"bench", "analysis"},
             "preprocessing": {"bench", "analysis"}}


def imported_modules(source: str, module: str) -> list[tuple[int, str]]:
    """``(line, dotted module)`` of every import in ``source`` (the file of ``module``); a
    ``from pkg import name`` counts as ``pkg.name`` (it may be a module), relative imports resolved."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = module.split(".")[:-node.level]
                base = ".".join(parts + ([base] if base else []))
            out += [(node.lineno, f"{base}.{a.name}") for a in node.names]
    return sorted(out)


def violations(source: str, module: str) -> list[str]:
    """The imports of ``module`` that break the layering, as ``line: module`` strings."""
    banned = FORBIDDEN[module.split(".")[0]]
    bad = []
    for line, name in imported_modules(source, module):
        top = name.split(".")[0]
        if top not in banned:
            continue
        if top == "bench" and any(name == k or name.startswith(k + ".") for k in KERNEL):
            continue
        bad.append(f"{line}: {name}")
    return bad


def _files(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_lower_packages_do_not_reach_up(package):
    files = _files(package)
    assert len(files) > 5
    found = {}
    for path in files:
        rel = path.relative_to(REPO).with_suffix("")
        module = ".".join(rel.parts[:-1] if rel.name == "__init__" else rel.parts)
        bad = violations(path.read_text(), module)
        if bad:
            found[str(path.relative_to(REPO))] = bad
    assert not found, f"imports that break the layers: {found}"


def test_the_checker_finds_hidden_imports():
    """Function-local, ``from bench import x``, relative and try/except-wrapped imports are all seen."""
    src = '''
from bench.errors import MitoError
from bench import registry

def f():
    from bench.train import sample
    try:
        from bench import tracking
    except ImportError:
        pass
    import analysis.metrics
'''
    assert violations(src, "analysis.report.sections") == ["6: bench.train.sample", "8: bench.tracking"]
    assert violations(src, "models.sampling") == ["6: bench.train.sample", "8: bench.tracking",
                                                  "11: analysis.metrics"]
    assert violations("from ..metrics import suite\n", "analysis.report.x") == []
    assert violations("from ...bench import runs\n", "analysis.report.x") == ["1: bench.runs"]
