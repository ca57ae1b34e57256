"""The planted-generator ladder: every rung where it belongs, on simulator movies and on the
real HeLa movie (tiles as movies), with the table the lead's ``validate-metrics`` prints."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.protocol.ladder import format_ladder, hela_movies, run_ladder, simulator_movies
from analysis.protocol.score import HEADLINE

N_BOOT = 100


def _assert_ladder(ladder: dict, rungs: int) -> None:
    table = format_ladder(ladder)
    print(table)
    assert len(ladder["results"]) == rungs
    failed = [c for c, ok in ladder["checks"].items() if not ok]
    assert not failed, f"ladder requirements failed: {failed}\n{table}"
    # no headline metric puts the real thing outside its floor
    assert not set(ladder["metric_failures"]) & set(HEADLINE), table
    assert "PASS  b flagged copying" in table and "FAIL" not in table


def test_ladder_on_simulator(tmp_path):
    ladder = run_ladder(simulator_movies(per_class=9, frames=12), workspace=tmp_path, n_boot=N_BOOT)
    _assert_ladder(ladder, rungs=6)
    r = ladder["results"]
    assert r["c repeat-5"]["metrics"]["vendi_ratio"] < 0.1  # 5 distinct frames of ~100
    assert r["d blur"]["metrics"]["spectrum_fd"] > 10 * r["d blur"]["floor_ci"]["spectrum_fd"][1]


def test_ladder_on_hela(tmp_path, shared_data):
    movies = hela_movies(shared_data)
    assert movies is not None and len(np.unique(movies.movie_ids)) >= 9  # 3 roles x >= 3 tile-movies
    _assert_ladder(run_ladder(movies, workspace=tmp_path, n_boot=N_BOOT), rungs=5)  # no classes: no (f)


def test_hela_absent_is_none(tmp_path):
    assert hela_movies(tmp_path) is None
