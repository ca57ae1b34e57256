"""The metric registry's conformance suite: every registered metric, on tiny sets of real frames
(noisy tube images), is finite, moves the way it declares when the generated set is a degraded
copy (a few frames repeated and blurred) instead of other real movies, and gets a floor."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.degradations import blur
from analysis.extractors import get_extractor
from analysis.metrics import HIGHER, LOWER, METRICS, MORPHOLOGY, floor_key, register_metric
from analysis.metrics.suite import compare_arrays, metric_suite
from analysis.morphology import morphology_table
from tests.conftest import movie

S, T = 64, 6  # px, frames per movie


def _movies(first: int, n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """``n`` movies of ``T`` distinct tube images each (one population, no near-duplicates)."""
    seeds = range(first, first + n * T)
    x = np.concatenate([movie(1, S, seed=s) for s in seeds])[:, None]  # (n T, 1, S, S)
    return x.astype(np.float32), np.repeat([f"m{first + i}" for i in range(n)], T)


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    """Suite results of other real movies ("good") and of a degraded copy of them, against the
    same real set, plus one compare_arrays result (metrics and floors)."""
    real, ids = _movies(0)
    good, _ = _movies(1000)
    degraded = blur(np.concatenate([good[:3]] * (len(good) // 3)), 1.5)  # collapse + blur
    ex = get_extractor("mito-ssl")
    real_f, real_m = ex.features(real), morphology_table(real[:, 0])

    def suite(fake):
        return metric_suite(real, fake, real_f, ex.features(fake), real_m, morphology_table(fake[:, 0]),
                            real_movie_ids=ids, n_bins=4, seed=0)
    ws = tmp_path_factory.mktemp("ws-metrics")
    compared = compare_arrays(real, good, real_movie_ids=ids, extractor=ex, workspace=ws)
    return {"good": suite(good), "degraded": suite(degraded), "compared": compared,
            "args": (real, good, ids, ex, ws)}


def _keys(name: str, result: dict) -> list[str]:
    """The result keys metric ``name`` wrote (itself, or its family, e.g. ``wd_*``)."""
    return [name] if name in result else [k for k in result if k not in METRICS and k.startswith("wd_")]


@pytest.mark.parametrize("name", METRICS.names())
def test_every_metric_is_finite_directed_and_floored(scored, name):
    metric = METRICS.get(name)
    good, bad, compared = scored["good"], scored["degraded"], scored["compared"]
    keys = _keys(name, good)
    assert keys, f"{name} wrote no key"
    for k in keys:
        assert np.isfinite(good[k]) and np.isfinite(bad[k]), (k, good[k], bad[k])
        assert k in compared["floor"] and np.isfinite(compared["floor"][k])  # floor computed
        assert compared["floor_splits"] > 1 and compared["floor_sd"][k] is not None
    g, b = np.mean([good[k] for k in keys]), np.mean([bad[k] for k in keys])
    if metric.better == LOWER:
        assert b > g, f"{name}: degraded {b:.4g} not above other real movies {g:.4g}"
    elif metric.better == HIGHER:
        assert b < g, f"{name}: degraded {b:.4g} not below other real movies {g:.4g}"
    else:  # a reference or a spread: it must not claim a direction it does not have
        assert metric.better is None and (name.endswith("_real") or name.endswith("_std"))
    assert MORPHOLOGY not in metric.needs or name.startswith("morph")


def test_a_new_metric_is_one_function_and_one_line(scored):
    """Registered once, a metric is in the suite, in the floor and under its floor key."""
    real, good, ids, ex, ws = scored["args"]

    @register_metric("mean_gap", needs={"frames"}, better=LOWER)
    def mean_gap(p):
        return abs(float(p.real.mean()) - float(p.fake.mean()))
    try:
        r = compare_arrays(real, good, real_movie_ids=ids, extractor=ex, workspace=ws,
                           morphology_metrics=False)
        assert r["metrics"]["mean_gap"] == pytest.approx(abs(real.mean() - good.mean()), rel=1e-5)
        assert "mean_gap" in r["floor"] and floor_key("mean_gap") == "floor_mean_gap"
        assert "morph_fd" not in r["metrics"]  # morphology metrics skipped without tables
    finally:
        METRICS._items.pop("mean_gap")  # noqa: SLF001 - leave the registry as the suite found it
    with pytest.raises(ValueError, match="already registered"):
        register_metric("fid", needs={"features"}, better=LOWER)(lambda p: 0.0)
