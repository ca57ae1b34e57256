"""Fault injection: every case of ``bench.perf.faults`` (bad inputs and settings, killed
processes, races, unwritable and full disks, planted files) must be held. The slow case (a real
``mitogan ui`` server, ~1 min to start) runs in ``python -m bench.perf.faults --slow`` only."""
from __future__ import annotations

import pytest

from bench.perf.faults import CASES, DEAD_OWNER
from bench.workspace import alive, owner_id
from preprocessing.ops import list_ops, get_op
from preprocessing.params import RANGES


@pytest.mark.parametrize("case", [c for c in CASES if not c.slow], ids=lambda c: c.name)
def test_fault_is_held(case, tmp_path, monkeypatch):
    monkeypatch.delenv("MITOGAN_WORKSPACE", raising=False)
    case.fn(tmp_path)


def test_every_op_parameter_has_a_declared_range():
    for name in list_ops():
        assert set(RANGES[name]) == set(get_op(name).defaults), name
        get_op(name).resolve({})  # the defaults themselves are in range


def test_owner_identity_tells_live_from_dead():
    assert alive(owner_id()) is True and alive(DEAD_OWNER) is False
    assert alive("another-host:1:1") is None
