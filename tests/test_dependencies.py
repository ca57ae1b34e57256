"""The declared dependencies match the imports: every third-party module the code imports is
declared in pyproject.toml (core, or the extra of the code that uses it), and every declared
package is imported somewhere (or is named below with the reason nothing imports it)."""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = {"bench", "models", "preprocessing", "analysis", "tests"}
# Declared but loaded by another package, never by an import statement of ours.
INDIRECT = {
    "psycopg2-binary": "SQLAlchemy's driver for postgresql:// Optuna/MLflow storages",
    "psutil": "MLflow system metrics (extra system-metrics)",
    "nvidia-ml-py": "MLflow GPU system metrics (extra system-metrics)",
    "bioio-ome-tiff": "bioio plugin, found by entry point",
    "bioio-ome-zarr": "bioio plugin, found by entry point (tests write OME-Zarr through it)",
    "bioio-czi": "bioio plugin", "bioio-nd2": "bioio plugin", "bioio-lif": "bioio plugin",
    "bioio-dv": "bioio plugin",
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> dict[str, set[str]]:
    """``{distribution: {"core" | extra name}}`` from pyproject.toml."""
    proj = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    out: dict[str, set[str]] = {}
    for where, reqs in [("core", proj["dependencies"]), *proj["optional-dependencies"].items()]:
        for req in reqs:
            out.setdefault(_norm(re.split(r"[<>=!~\[; ]", req, maxsplit=1)[0]), set()).add(where)
    return out


def _imports() -> dict[str, set[Path]]:
    """Top-level third-party modules imported anywhere in the tree (statements, not strings)."""
    found: dict[str, set[Path]] = {}
    for pkg in OWN:
        for f in (ROOT / pkg).rglob("*.py"):
            for node in ast.walk(ast.parse(f.read_text(), str(f))):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for top in {n.split(".")[0] for n in names} - OWN - set(sys.stdlib_module_names):
                    found.setdefault(top, set()).add(f.relative_to(ROOT))
    return found


def test_every_import_is_declared_and_every_declared_package_is_used():
    declared, dists = _declared(), packages_distributions()
    used = set()
    for module, files in sorted(_imports().items()):
        names = {_norm(d) for d in dists.get(module, [module])}
        hit = names & declared.keys()
        assert hit, f"{module} (imported by {sorted(map(str, files))[:3]}) is not declared in pyproject.toml"
        used |= hit
        if all(f.parts[0] == "tests" for f in files):  # only the tests use it: the test extra suffices
            continue
        assert any("core" in declared[n] or n.startswith("bioio") for n in hit), \
            f"{module} is imported by the package ({sorted(map(str, files))[:3]}) but only declared in {declared[hit.pop()]}"
    unused = set(declared) - used - set(INDIRECT) - {"mitogan"}
    assert not unused, f"declared but never imported: {sorted(unused)}"


def test_lower_bounds_admit_the_apis_the_code_uses():
    """The bounds this project's code needs (a CI step installs exactly these minimums)."""
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    bounds = dict(re.match(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", r).groups() for r in declared if ">=" in r)
    assert tuple(map(int, bounds["optuna"].split("."))) >= (4, 9)  # RetryHeartbeatStaleTrialCallback
    assert tuple(map(int, bounds["torch-fidelity"].split("."))) >= (0, 4)
    from optuna.storages import RetryHeartbeatStaleTrialCallback  # noqa: F401  the API the bound is for
    from mlflow.pytorch import log_model
    import inspect
    assert "serialization_format" in inspect.signature(log_model).parameters
