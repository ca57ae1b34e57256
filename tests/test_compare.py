"""compare_arrays / compare-sets: keys, floors split by movie, small-N KID, caching, CLI."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch

from analysis.metrics.builtin import standardize
from analysis.metrics.sets import load_set
from analysis.metrics.splits import FLOOR_SPLITS, floor_halves, halves_by_movie, knn_groups, morph_sample, ndb_bins
from analysis.metrics.suite import compare_arrays, metric_suite
from analysis.extractors import get_extractor
from analysis.fidelity import fidelity_from_scratch
from analysis.metrics.known_answers import add_noise, blur, simulated_frames
from bench.cli import main
from bench.errors import MitoError

KEYS = {"fid", "kid_mean", "kid_std", "precision", "recall", "density", "coverage", "ndb", "ndb_js",
        "vendi_real", "vendi_fake", "ms_ssim_real", "ms_ssim_fake", "morph_fd"}


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    ws = tmp_path_factory.mktemp("ws-compare")
    return ws, simulated_frames(ws, quick=True, seed=0, size=64)


def test_halves_never_split_a_movie():
    ids = np.repeat(["m0", "m1", "m2", "m3", "m4"], [10, 4, 6, 6, 2])
    half, how = halves_by_movie(ids, seed=0)
    assert how == "movie"
    assert not set(ids[half]) & set(ids[~half])
    assert abs(half.sum() - (~half).sum()) <= 4
    one, how1 = halves_by_movie(np.array(["a"] * 7))
    assert how1 == "time" and one.sum() == 3 and one[:3].all()


def test_floor_halves_are_distinct_by_movie_splits():
    ids = np.repeat([f"m{i}" for i in range(8)], [10, 4, 6, 6, 2, 8, 5, 7])
    halves, how = floor_halves(ids, seed=0)
    assert how == "movie" and len(halves) == FLOOR_SPLITS
    assert np.array_equal(halves[0], halves_by_movie(ids, 0)[0])  # the balanced split first
    keys = {h.tobytes() for h in halves} | {(~h).tobytes() for h in halves}
    assert len(keys) == 2 * len(halves)  # no split repeated, nor its mirror image
    assert all(not set(ids[h]) & set(ids[~h]) for h in halves)
    two, _ = floor_halves(np.repeat(["a", "b"], 5))
    assert len(two) == 1  # two movies: a single split (and its mirror)
    one, how1 = floor_halves(np.array(["a"] * 9))
    assert how1 == "time" and len(one) == 1


def test_floor_is_the_mean_over_splits_with_its_spread(sim):
    ws, f = sim
    ex = get_extractor("mito-ssl")
    r = compare_arrays(f.x, blur(f.x[::2], 1.0), real_movie_ids=f.movie_ids, extractor=ex,
                       workspace=ws, morphology_metrics=False)
    halves, _ = floor_halves(f.movie_ids)
    assert r["floor_splits"] == len(halves) > 1
    feats = ex.features(f.x)
    n_bins = ndb_bins(min(min(h.sum(), (~h).sum()) for h in halves))
    fids = [metric_suite(f.x[h], f.x[~h], feats[h], feats[~h], None, None, real_movie_ids=f.movie_ids[h],
                         n_bins=n_bins)["fid"] for h in halves]
    assert r["floor"]["fid"] == pytest.approx(np.mean(fids), rel=1e-6)
    assert r["floor_sd"]["fid"] == pytest.approx(np.std(fids, ddof=1), rel=1e-6) and r["floor_sd"]["fid"] > 0
    assert set(r["floor_sd"]) == set(r["floor"])


def test_morphology_of_a_large_generated_set_uses_a_seeded_sample():
    assert np.array_equal(morph_sample(900, 100), np.arange(900))  # below the cap: every frame
    big = morph_sample(9000, 100, seed=1)
    assert len(big) == 1000 and len(np.unique(big)) == 1000 and (np.diff(big) > 0).all()
    assert np.array_equal(big, morph_sample(9000, 100, seed=1))
    assert not np.array_equal(big, morph_sample(9000, 100, seed=2))
    assert len(morph_sample(9000, 800)) == 1600  # twice the real frames when that is more


def test_compare_arrays_keys_floor_and_small_n(sim):
    ws, f = sim
    real, fake = f.x, add_noise(f.x[::2], 0.2, seed=0)
    r = compare_arrays(real, fake, real_movie_ids=f.movie_ids, workspace=ws)
    assert r["n_real"] == len(real) and r["n_fake"] == len(fake) and r["extractor"] == "mito-ssl"
    assert r["n_fake_morphology"] == len(fake)  # a small generated set is measured whole
    assert KEYS <= set(r["metrics"]) and set(r["metrics"]) == set(r["floor"])
    assert any(k.startswith("wd_") for k in r["metrics"])
    assert r["kid_subset_size"] <= min(len(real), len(fake))
    assert r["floor_split"] == "movie" and sum(r["n_floor"]) == len(real)
    assert r["metrics"]["fid"] > r["floor"]["fid"]  # strong noise is worse than fresh real movies
    json.dumps(r)  # serializable as is


def test_precision_recall_equal_torch_fidelitys_on_overlapping_sets():
    from torch_fidelity.metric_prc import calculate_precision_recall_full

    from analysis.fidelity import precision_recall

    gen = torch.Generator().manual_seed(0)
    real = torch.randn(300, 16, generator=gen)
    fake = 0.8 * torch.randn(700, 16, generator=gen) + 0.3  # partly overlapping: 0 < p, r < 1
    ours = precision_recall(fake, real, 3)
    assert 0.05 < ours[0] < 0.95 and 0.05 < ours[1] < 0.95
    assert ours == calculate_precision_recall_full(fake, real, neighborhood=3)


def test_fid_kid_prc_are_torch_fidelitys(sim):
    ws, f = sim
    ex = get_extractor("mito-ssl")
    real, fake = f.x[:40], blur(f.x[40:80], 1.0)
    ours = compare_arrays(real, fake, extractor=ex, workspace=ws, morphology_metrics=False)["metrics"]
    theirs = fidelity_from_scratch(real, fake, ex)
    for k in theirs:
        assert ours[k] == pytest.approx(theirs[k], rel=1e-3, abs=1e-5), k


def test_coverage_floor_is_not_degenerate_on_time_lapse_movies(sim):
    ws, f = sim  # simulated time-lapse: consecutive frames of a movie are near-duplicates
    r = compare_arrays(f.x, add_noise(f.x[::2], 0.2, seed=0), real_movie_ids=f.movie_ids,
                       workspace=ws, morphology_metrics=False)
    assert r["floor"]["coverage"] > 0.1 and r["floor"]["density"] > 0.1  # balls span movies
    assert r["metrics"]["coverage"] < r["floor"]["coverage"]
    one = f.movie_ids == f.movie_ids[0]
    groups = knn_groups(f.movie_ids[one])  # one movie: runs of consecutive frames
    assert len(np.unique(groups)) == 4 and (groups[:-1] <= groups[1:]).all()
    assert np.array_equal(knn_groups(f.movie_ids), f.movie_ids)
    single = compare_arrays(f.x[one], f.x[~one][:24], real_movie_ids=f.movie_ids[one], workspace=ws,
                            morphology_metrics=False)
    assert single["floor_split"] == "time" and single["floor"]["coverage"] > 0.1


def test_second_call_reuses_the_real_side(sim, monkeypatch):
    ws, f = sim
    fake = blur(f.x[1::2], 1.0)
    first = compare_arrays(f.x, fake, real_movie_ids=f.movie_ids, workspace=ws)
    import analysis.morphology as morph

    real_calls = []
    orig = morph.morphology_table
    monkeypatch.setattr(morph, "morphology_table", lambda x: real_calls.append(len(x)) or orig(x))
    other = blur(f.x[0::2], 1.0)
    again = compare_arrays(f.x, other, real_movie_ids=f.movie_ids, workspace=ws)
    assert real_calls == [len(other)]  # only the new generated frames were measured
    assert again["floor"] == first["floor"] and again["metrics"] != first["metrics"]
    repeat = compare_arrays(f.x, fake, real_movie_ids=f.movie_ids, workspace=ws)
    assert real_calls == [len(other)] and repeat == first  # same sets: nothing measured again


def test_standardize_makes_distinct_frames_count():
    rng = np.random.default_rng(0)
    ref = np.abs(rng.normal(1, 0.3, (200, 16)))  # all-positive, like post-ReLU features
    z = standardize(ref, ref)
    assert abs(z.mean()) < 1e-6 and np.allclose(np.cov(z, rowvar=False), np.eye(16), atol=0.3)


def test_compare_arrays_rejects_bad_input():
    x = np.zeros((8, 1, 32, 32), np.float32)
    with pytest.raises(MitoError, match="\\[0, 1\\]"):
        compare_arrays(x + 2, x)
    with pytest.raises(MitoError, match="px"):
        compare_arrays(x, np.zeros((8, 1, 16, 16), np.float32))
    with pytest.raises(MitoError, match="too small"):
        compare_arrays(x[:5], x[:5])


def test_cli_compare_sets_folder_of_16bit_images(sim, tmp_path, capsys):
    ws, f = sim
    folder = tmp_path / "fake"
    folder.mkdir()
    for i, img in enumerate(blur(f.x[::3], 1.0)[:, 0]):
        cv2.imwrite(str(folder / f"s{i:03d}.png"), (img * 65535).round().astype(np.uint16))
    loaded = load_set(str(folder), size=64)
    assert len(np.unique(loaded.x)) > 256  # 16-bit levels survived
    out = tmp_path / "res" / "c.json"
    rc = main(["--workspace", str(ws), "compare-sets", "validation-sim-8x12-s0", str(folder),
               "--json", str(out), "--no-morphology"])
    assert rc == 0
    res = json.loads(out.read_text())
    assert res["n_fake"] == len(loaded.x) and res["n_real"] == len(f.x)
    printed = capsys.readouterr().out
    assert "floor" in printed and f"N_real={len(f.x)}" in printed and "± sd" in printed
    assert res["pixel_size_um_real"] and res["pixel_size_um_fake"] == res["pixel_size_um_real"]
    assert main(["--workspace", str(ws), "compare-sets", "validation-sim-8x12-s0",
                 str(tmp_path / "empty-missing")]) == 2
    assert "no such data set" in capsys.readouterr().err
