"""compare_arrays / compare-sets: keys, floors split by movie, small-N KID, caching, CLI."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest

from analysis.compare import compare_arrays, halves_by_movie, knn_groups, load_set, standardize
from analysis.extractors import get_extractor
from analysis.fidelity import fidelity_from_scratch
from analysis.validation import add_noise, blur, simulated_frames
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


def test_compare_arrays_keys_floor_and_small_n(sim):
    ws, f = sim
    real, fake = f.x, add_noise(f.x[::2], 0.2, seed=0)
    r = compare_arrays(real, fake, real_movie_ids=f.movie_ids, workspace=ws)
    assert r["n_real"] == len(real) and r["n_fake"] == len(fake) and r["extractor"] == "mito-ssl"
    assert KEYS <= set(r["metrics"]) and set(r["metrics"]) == set(r["floor"])
    assert any(k.startswith("wd_") for k in r["metrics"])
    assert r["kid_subset_size"] <= min(len(real), len(fake))
    assert r["floor_split"] == "movie" and sum(r["n_floor"]) == len(real)
    assert r["metrics"]["fid"] > r["floor"]["fid"]  # strong noise is worse than fresh real movies
    json.dumps(r)  # serializable as is


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
    assert "floor" in printed and f"N_real={len(f.x)}" in printed
    assert main(["--workspace", str(ws), "compare-sets", "validation-sim-8x12-s0",
                 str(tmp_path / "empty-missing")]) == 2
    assert "no such data set" in capsys.readouterr().err
