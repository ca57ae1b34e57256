"""Known answers for diversity (density/coverage, NDB, Vendi, MS-SSIM) and memorization metrics."""
from __future__ import annotations

import numpy as np
import prdc
import pytest
from scipy import ndimage as ndi

from analysis.diversity import density_coverage, ms_ssim_intra, ndb
from analysis.memorization import authenticity, birthday_support, data_copying, nearest_train
from bench.errors import MitoError


def _mixture(n: int, seed: int, modes: np.ndarray, drop: int | None = None) -> np.ndarray:
    """``n`` samples of a mixture of unit Gaussians at ``modes`` (K, D); optionally minus a mode."""
    rng = np.random.default_rng(seed)
    keep = [k for k in range(len(modes)) if k != drop]
    return modes[rng.choice(keep, n)] + rng.standard_normal((n, modes.shape[1]))


MODES = np.random.default_rng(42).standard_normal((6, 8)) * 10  # well separated


@pytest.mark.parametrize("k", [3, 5])
def test_density_coverage_match_prdc(k):
    rng = np.random.default_rng(k)
    real = rng.standard_normal((120, 10)).astype(np.float32)
    fake = (rng.standard_normal((90, 10)) * 1.2 + 0.3).astype(np.float32)
    ours = density_coverage(real, fake, k=k)
    ref = prdc.compute_prdc(real, fake, nearest_k=k)
    assert ours["density"] == pytest.approx(ref["density"], abs=1e-6)
    assert ours["coverage"] == pytest.approx(ref["coverage"], abs=1e-6)


def _movies(n_movies: int, frames: int, seed: int, shift: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Time-lapse-like features (n_movies * frames, 4): each movie = jittered copies of one base
    vector drawn from N(shift, I); and the (N,) movie label of each row."""
    rng = np.random.default_rng(seed)
    base = rng.standard_normal((n_movies, 4)) + shift
    x = np.repeat(base, frames, axis=0) + 0.02 * rng.standard_normal((n_movies * frames, 4))
    return x, np.repeat(np.arange(n_movies), frames)


def test_real_groups_keep_near_duplicate_frames_from_setting_the_radius():
    real, movie = _movies(12, 8, seed=1000)  # 8 frames per movie > k: plain balls stay in-movie
    fake = _movies(100, 2, seed=0)[0]  # other base vectors of the same distribution
    plain = density_coverage(real, fake)
    grouped = density_coverage(real, fake, real_groups=movie)
    assert plain["coverage"] < 0.05 and plain["density"] < 0.05
    assert grouped["coverage"] > 0.5 and grouped["density"] > 0.5
    off = density_coverage(real, _movies(100, 2, seed=0, shift=5.0)[0], real_groups=movie.astype(str))
    assert off["coverage"] < 0.1 and off["density"] < 0.1
    singletons = density_coverage(real, fake, real_groups=np.arange(len(real)))
    assert singletons == pytest.approx(plain)  # own group = self only: the prdc radius
    with pytest.raises(MitoError, match="outside every group"):
        density_coverage(real[:12], fake, real_groups=movie[:12])  # movie 0 leaves 4 frames < k
    with pytest.raises(MitoError, match="labels"):
        density_coverage(real, fake, real_groups=movie[:-1])


def test_coverage_drops_when_a_mode_is_missing():
    real = _mixture(300, 0, MODES)
    full = density_coverage(real, _mixture(300, 1, MODES))
    dropped = density_coverage(real, _mixture(300, 1, MODES, drop=0))
    assert full["coverage"] > 0.9
    assert full["coverage"] - dropped["coverage"] > 0.1


def test_ndb_near_zero_for_same_distribution_and_high_for_dropped_mode():
    real = _mixture(400, 0, MODES)
    same = ndb(real, _mixture(400, 1, MODES), n_bins=12, seed=0)
    dropped = ndb(real, _mixture(400, 1, MODES, drop=2), n_bins=12, seed=0)
    assert same["ndb"] <= 0.1 and same["ndb_js"] < 0.02
    assert dropped["ndb"] >= 2 / 12 and dropped["ndb_js"] > 5 * same["ndb_js"]


def test_ms_ssim_intra_one_for_identical_lower_for_diverse():
    rng = np.random.default_rng(0)
    blobs = np.clip(ndi.gaussian_filter(rng.random((12, 1, 64, 64)), (0, 0, 3, 3)) * 4 - 1.5, 0, 1)
    identical = np.repeat(blobs[:1], 8, axis=0)
    assert ms_ssim_intra(identical, n_pairs=20, seed=0) == pytest.approx(1.0, abs=1e-9)
    diverse = ms_ssim_intra(blobs, n_pairs=40, seed=0)
    near_copies = ms_ssim_intra(np.clip(identical + 0.05 * rng.standard_normal(identical.shape), 0, 1),
                                n_pairs=40, seed=0)
    assert diverse < near_copies < 1.0
    assert diverse < 0.5
    assert ms_ssim_intra(blobs[:, :, :20, :20], n_pairs=10, seed=0) < 1.0  # one scale only
    with pytest.raises(MitoError, match="N, 1, H, W"):
        ms_ssim_intra(blobs[:, 0], n_pairs=4, seed=0)


def test_single_scale_ms_ssim_equals_skimage_ssim():
    import torch
    from skimage.metrics import structural_similarity

    from analysis.diversity import ms_ssim

    rng = np.random.default_rng(1)
    a = rng.random((3, 1, 20, 20))  # < 22 px: one scale, i.e. plain SSIM
    b = np.clip(a + 0.2 * rng.standard_normal(a.shape), 0, 1)
    ours = ms_ssim(torch.from_numpy(a), torch.from_numpy(b)).numpy()
    ref = [structural_similarity(a[i, 0], b[i, 0], data_range=1, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False) for i in range(3)]
    assert np.allclose(ours, ref, atol=1e-9)


def test_nearest_train_finds_the_source_row():
    rng = np.random.default_rng(0)
    train = rng.standard_normal((50, 6))
    rows = rng.integers(0, 50, 20)
    idx, dist = nearest_train(train[rows] + 1e-3, train)
    assert np.array_equal(idx, rows)
    assert np.allclose(dist, 1e-3 * np.sqrt(6))


def test_data_copying_flags_noisy_train_copies_but_not_heldout():
    rng = np.random.default_rng(0)
    train, heldout, fresh = (rng.standard_normal((n, 12)) for n in (300, 120, 120))
    copies = train[rng.integers(0, 300, 120)] + 0.05 * rng.standard_normal((120, 12))
    copied = data_copying(train, heldout, copies)
    assert copied["copying"] == 1.0 and copied["z"] < -5 and copied["median_ratio"] < 0.2
    honest = data_copying(train, heldout, fresh)
    assert honest["copying"] == 0.0 and abs(honest["z"]) < 3 and 0.8 < honest["median_ratio"] < 1.25
    assert authenticity(train, copies) < 0.05
    assert authenticity(train, fresh) > 0.5


@pytest.mark.parametrize("n_modes", [5, 40])
def test_birthday_support_recovers_the_number_of_modes(n_modes):
    rng = np.random.default_rng(n_modes)
    modes = rng.standard_normal((n_modes, 16)) * 5
    fake = modes[rng.integers(0, n_modes, 400)] + 0.01 * rng.standard_normal((400, 16))
    real = rng.standard_normal((200, 16)) * 5  # real NN distances >> duplicate jitter
    out = birthday_support(fake, real, quantile=0.01, seed=0)
    assert out["support"] == pytest.approx(n_modes, rel=0.3)
    assert out["support_batch"] == pytest.approx(n_modes, rel=0.5)
    assert out["lower_bound"] == 0.0
    distinct = birthday_support(rng.standard_normal((100, 16)) * 5, threshold=0.1, seed=0)
    assert distinct["lower_bound"] == 1.0 and distinct["support"] >= 100 * 99 / 2
