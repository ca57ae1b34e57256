"""The scoring protocol on simulator movies: roles and split, metric definitions against
reference implementations, matched floors, intervals over movies, copy and collapse flags,
leave-movie-out C2ST and the cross-pipeline ranking."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from analysis.protocol.c2st_folds import leave_movie_out_c2st
from analysis.protocol.ladder import planted, simulator_movies, three_way
from analysis.protocol.measures import frechet, kid, vendi_count
from analysis.protocol.ranking import rank_results
from analysis.protocol.roles import make_role, split_by_movie
from analysis.protocol.score import Protocol
from bench.errors import MitoError

N_BOOT = 60  # the default (200) in the library; fewer here, the verdicts below are not borderline


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    ws = tmp_path_factory.mktemp("ws-protocol")
    movies = simulator_movies(per_class=9, frames=12)
    train, held, third = three_way(movies, seed=0)
    proto = Protocol(train, held, workspace=ws, n_boot=N_BOOT)
    labels = movies.labels[np.isin(movies.movie_ids, third.units)]
    return {"ws": ws, "movies": movies, "train": train, "held": held, "third": third, "proto": proto,
            "rungs": planted(train, third, labels)}


def test_split_is_stratified_by_label_and_holds_out_two_movies():
    ids = np.repeat([f"m{i}" for i in range(12)], 3)
    labels = np.repeat(["a"] * 6 + ["b"] * 4 + ["c"] * 2, 3)
    s = split_by_movie(ids, labels, 0.25, seed=0)
    lab = dict(zip(ids, labels))
    assert s.how == "stratified by label" and not set(s.train) & set(s.heldout)
    assert sorted(lab[m] for m in s.heldout) == ["a", "a", "b", "c"]  # round(1.5)=2, 1, and >= 1
    assert {lab[m] for m in s.train} == {"a", "b", "c"}
    assert s == split_by_movie(ids, labels, 0.25, seed=0) != split_by_movie(ids, labels, 0.25, seed=1)
    four = split_by_movie(["w", "x", "y", "z"], None, 0.1)
    assert len(four.heldout) == 2 and len(four.train) == 2  # two of each when possible
    few = split_by_movie(["x", "y", "z"], None, 0.1)
    assert len(few.heldout) == 1 and len(few.train) == 2  # no verdict either way: training keeps them
    with pytest.raises(MitoError, match="several labels"):
        split_by_movie(["m0", "m0", "m1"], ["a", "b", "a"])


def test_frechet_and_kid_match_torch_fidelity():
    from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
    from torch_fidelity.metric_kid import kid_features_to_metric

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(80, 16)), rng.normal(0.3, 1.2, size=(60, 16))
    ta, tb = torch.from_numpy(a), torch.from_numpy(b)
    ref = fid_statistics_to_metric(fid_features_to_statistics(ta), fid_features_to_statistics(tb), False)
    assert frechet(a, b) == pytest.approx(ref["frechet_inception_distance"], rel=1e-6)
    # one subset of the whole smaller set: torch-fidelity's estimator is then the full-set one
    ref_k = kid_features_to_metric(tb.float(), ta[:60].float(), kid_subsets=1, kid_subset_size=60,
                                   kid_degree=3, kid_gamma=None, kid_coef0=1, rng_seed=0, verbose=False)
    assert kid(a[:60], b) == pytest.approx(ref_k["kernel_inception_distance_mean"], rel=1e-4)


def test_distinct_frame_count_k_repeats_and_real_frames(sim):
    p, z = sim["proto"], sim["proto"].h.z  # held-out features, standardised by all real frames
    pick = np.arange(0, len(z), len(z) // 5)[:5]  # 5 frames of 5 different movies
    assert vendi_count(z[np.repeat(pick, 20)], p.bandwidth) == pytest.approx(5, rel=0.1)
    real = vendi_count(z, p.bandwidth)
    # a real set counts far more than "2.4 of 1000", and more than its 12 movies
    assert 3 * p.held.n_units < real <= len(z)


def test_repeated_real_frames_keep_the_distinct_count_scale():
    """A movie that stores every time point twice (the HeLa file does) has the scale of its
    distinct frames, not 0 (which made every kernel entry 0/0)."""
    from analysis.protocol.score import DistinctCount
    feats = np.random.default_rng(0).normal(size=(60, 8))
    once, twice = DistinctCount(feats), DistinctCount(np.repeat(feats, 2, axis=0))
    assert twice.bandwidth == pytest.approx(once.bandwidth, rel=0.02) and twice.bandwidth > 0
    assert twice.count(feats) == pytest.approx(once.count(feats), rel=0.02)
    with pytest.raises(ValueError, match="same features"):
        DistinctCount(np.ones((10, 8)))


def test_copier_is_flagged_and_scores_worse_than_a_new_movie_sampler(sim):
    p, rungs = sim["proto"], sim["rungs"]
    new, copier = p.score(rungs["a heldout-movies"]), p.score(rungs["b train+noise"])
    assert copier["verdict"]["copying"] and not new["verdict"]["copying"]
    assert copier["metrics"]["copy_fraction"] > 0.9 and copier["copy_quantile"] == 0.1
    assert copier["objective"] > new["objective"]  # the study's objective
    # against held-out movies a copier is never better than a new-movie sampler's floor
    for k in ("fid", "kid", "coverage"):
        assert copier["metrics"][k] == pytest.approx(copier["floor"][k], rel=0.3, abs=0.05)


def test_floor_is_matched_and_every_number_has_an_interval(sim):
    p = sim["proto"]
    half = sim["third"].subset(np.arange(0, len(sim["third"].x), 2))
    r = p.score(half)
    n = r["n"]
    assert n["samples"]["frames"] == n["floor_samples"]["frames"] == len(half.x)
    assert n["heldout"] == {"frames": len(sim["held"].x), "movies": 12}
    assert r["n_boot"] == N_BOOT and str(N_BOOT) in r["ci_method"]
    for k in r["metrics"]:
        lo, hi = r["ci"][k]
        flo, fhi = r["floor_ci"][k]
        assert lo <= r["metrics"][k] <= hi and flo <= r["floor"][k] <= fhi and hi > lo
    assert set(r["verdict"]["within_floor"]) == set(r["metrics"])
    assert p.score(half)["ci"] == r["ci"]  # seeded: the same numbers again


def test_fewer_than_two_heldout_movies_gives_no_verdict(sim):
    t, h = sim["train"], sim["held"]
    one = h.subset(np.flatnonzero(h.units == h.units[0]))
    r = Protocol(t, one, workspace=sim["ws"], n_boot=5).score(sim["third"])
    assert r["verdict"]["possible"] is False and "1 held-out" in r["verdict"]["reason"]
    assert r["ci"] is None and r["verdict"]["within_floor"] == {} and "fid" in r["metrics"]


def test_leave_movie_out_c2st_same_population_is_chance(sim):
    x, ids = sim["movies"].x, sim["movies"].movie_ids
    movies = np.unique(ids)
    real_m, other_m = movies[[0, 9, 18, 27, 1, 10]], movies[[19, 28]]  # one population (the simulator)
    real, other = np.isin(ids, real_m), np.isin(ids, other_m)
    kw = {"judge": "logreg-pixels", "seed": 0, "n_boot": 200}
    by_movie = leave_movie_out_c2st(x[real], ids[real], x[other], ids[other], **kw)
    from analysis.judge import c2st, movie_blocks
    frames = np.arange(len(ids))
    blocks = c2st(x[real], x[other], real_groups=movie_blocks(ids[real], frames[real], 5),
                  fake_groups=movie_blocks(ids[other], frames[other], 5), **kw)
    assert by_movie["folds"] == 2 and by_movie["groups"] == "movie"
    assert by_movie["acc"] < 0.65 and blocks["acc"] > 0.8  # movie:block folds recognise movies
    refused = leave_movie_out_c2st(x[real], ids[real], x[ids == movies[2]], ids[ids == movies[2]])
    assert "at least 2 movies per side" in refused["refused"] and "acc" not in refused


def test_laplacian_pipeline_does_not_outrank_the_real_thing(sim):
    from preprocessing.ops import get_op

    lap = lambda r: make_role(r.name, np.clip(get_op("laplacian")(r.x[:, 0], gain=4.0), 0, 1), r.units)  # noqa: E731
    t, h, third = sim["train"], sim["held"], sim["third"]
    identity = sim["proto"].score(third)
    edges = Protocol(lap(t), lap(h), workspace=sim["ws"], n_boot=N_BOOT).score(lap(third))
    assert get_op("laplacian").keeps_intensity({}) is False and get_op("normalize").keeps_intensity({})
    out = rank_results({"laplacian": edges, "normalize": identity},
                       intensity={"laplacian": False, "normalize": True})
    assert [(r["name"], r["rank"]) for r in out] == [("normalize", 1), ("laplacian", None)]
    assert "not an intensity image" in out[1]["verdict"]


def test_a_floor_that_never_varies_gives_a_finite_gap():
    """Precision at its ceiling in every floor replicate (SD 0): the gap is measured against the
    binomial resolution of a fraction, not divided by zero."""
    from analysis.protocol.measures import METRICS
    from analysis.protocol.score import _compare
    rng = np.random.default_rng(0)
    keys = list(METRICS)
    model = {"value": {k: 0.5 for k in keys}, "reps": {k: 0.5 + 0.01 * rng.standard_normal(50) for k in keys}}
    floor = {"value": {k: 0.5 for k in keys}, "reps": {k: 0.5 + 0.01 * rng.standard_normal(50) for k in keys}}
    model["value"]["precision"], model["reps"]["precision"] = 0.995, np.full(50, 0.995)
    floor["value"]["precision"], floor["reps"]["precision"] = 1.0, np.ones(50)
    res = _compare(model, floor, 0.1, None, (100, 100))
    assert -2 < res["gap_z"]["precision"] < 0  # 0.005 below, against sqrt(0.99 * 0.01 / 100) ≈ 0.01
    assert res["objective"] < 5 and res["objective_ci"][0] >= 0
