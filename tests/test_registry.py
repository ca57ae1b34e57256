"""The one Registry behind every extension point, and each project registry against its contract."""
from __future__ import annotations

import pytest

from bench.errors import MitoError
from bench.registry import Registry, RegistryError


def _project_registries() -> dict[str, Registry]:
    from analysis.attribution.methods import _METHODS
    from analysis.extractors import _EXTRACTORS
    from analysis.judge_models import _JUDGES
    from analysis.metrics import METRICS
    from analysis.report.sections import _SECTIONS
    from models.registry import _VARIANTS
    from preprocessing.ops import _OPS
    from preprocessing.simulator.geometry import _CLASSES

    return {"ops": _OPS, "variants": _VARIANTS, "extractors": _EXTRACTORS, "methods": _METHODS,
            "judges": _JUDGES, "classes": _CLASSES, "sections": _SECTIONS,
            "metrics": METRICS}


def test_registry_refuses_bad_and_duplicate_names_and_keeps_order():
    reg: Registry[int] = Registry("widget", "--widget")
    reg.add("b-2", 2)
    assert reg.decorator("a_1")(1) == 1  # the decorator returns what it registered
    assert reg.names() == ["b-2", "a_1"] and reg.get("a_1") == 1 and "b-2" in reg
    for bad in ("", "Upper", "has space", "x/y", None):
        with pytest.raises(RegistryError, match="bad widget name"):
            reg.add(bad, 0)
    with pytest.raises(ValueError, match="already registered"):  # RegistryError is a ValueError
        reg.add("b-2", 3)
    assert reg.get("b-2") == 2  # the refused item replaced nothing
    with pytest.raises(MitoError, match=r"--widget: unknown widget 'c' \(known: a_1, b-2\)"):
        reg.get("c")


@pytest.mark.parametrize("name", list(_project_registries()))
def test_every_project_registry_keeps_the_contract(name):
    reg = _project_registries()[name]
    assert isinstance(reg, Registry) and reg.names()
    first = reg.names()[0]
    with pytest.raises(RegistryError, match="already registered"):
        reg.add(first, reg.get(first))
    with pytest.raises(MitoError, match=f"{reg.option}: unknown {reg.kind} 'no-such-thing'"):
        reg.get("no-such-thing")
