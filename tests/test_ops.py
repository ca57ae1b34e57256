"""Preprocessing ops: a conformance suite over every registered op, plus each op's known answer."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
from scipy import ndimage

from bench.errors import MitoError
from preprocessing.ops import estimate_drift, get_op, list_ops, register_op
from tests.conftest import movie, tubes


@pytest.mark.parametrize("name", list_ops())
def test_op_contract(name):
    """Every registered op: float32 in [0, 1], input untouched, deterministic, right shape."""
    op = get_op(name)
    frames = movie()
    before = frames.copy()
    kw = {"size": 32} if op.geometry else {}
    a, b = op.fn(frames, **kw, **op.defaults), op.fn(frames, **kw, **op.defaults)
    np.testing.assert_array_equal(frames, before)
    if op.geometry:
        (a, src), (b, _) = a, b
        assert a.shape[1:] == (32, 32) and len(src) == len(a) and src.max() < len(frames)
    else:
        assert a.shape == frames.shape
    assert a.dtype == np.float32 and a.min() >= 0 and a.max() <= 1
    np.testing.assert_array_equal(a, b)


def test_registry_refuses_duplicates_and_bad_names():
    with pytest.raises(ValueError, match="already registered"):
        register_op("nlm")(lambda frames: frames)
    with pytest.raises(ValueError, match="bad op name"):
        register_op("Bad Name")(lambda frames: frames)
    with pytest.raises(MitoError, match="unknown op"):
        get_op("sharpen")
    with pytest.raises(MitoError, match="unknown parameter"):
        get_op("nlm").resolve({"strength": 3})


@pytest.mark.parametrize("method", ["phase", "ecc"])
def test_register_recovers_subpixel_shift(method):
    base = tubes(128)
    true = [(0.0, 0.0), (1.3, -2.7), (-0.6, 0.45), (3.25, 1.8)]
    frames = np.stack([np.real(np.fft.ifft2(ndimage.fourier_shift(np.fft.fft2(base), s))) for s in true])
    est = estimate_drift(frames.astype(np.float32), method=method)
    assert np.abs(est - np.array(true)).max() < 0.2
    registered = get_op("register")(frames.astype(np.float32), method=method)
    inner = (slice(8, -8), slice(8, -8))  # edges are replicated, not known
    assert np.abs(registered[3][inner] - base[inner]).mean() < 0.01


def test_otsu_splits_bimodal_at_the_right_level():
    rng = np.random.default_rng(1)
    img = np.where(np.arange(64)[None, :] < 24, 0.2, 0.7) + rng.normal(0, 0.03, (64, 64))
    mask = get_op("otsu")(img[None].astype(np.float32), sigma_px=0.0)[0]
    assert mask[:, :22].max() == 0 and mask[:, 26:].min() == 1
    masked = get_op("otsu")(img[None].astype(np.float32), mode="masked", sigma_px=0.0)[0]
    assert masked[:, :22].max() == 0 and masked[:, 30:].mean() == pytest.approx(0.7, abs=0.01)


def test_nlm_raises_psnr():
    clean = tubes(96)
    noisy = np.clip(clean + np.random.default_rng(2).normal(0, 0.08, clean.shape), 0, 1).astype(np.float32)
    denoised = get_op("nlm")(noisy[None], h=12.0)[0]
    psnr = lambda x: 10 * np.log10(1.0 / np.mean((x - clean) ** 2))
    assert psnr(denoised) > psnr(noisy) + 3


def test_laplacian_of_constant_is_zero_and_edges_light_up():
    assert get_op("laplacian")(np.full((2, 32, 32), 0.4, np.float32)).max() == 0
    edges = get_op("laplacian")(tubes(64)[None])[0]
    assert edges[tubes(64) > 0.5].mean() > 5 * edges[tubes(64) < 0.06].mean()


def test_normalize_maps_percentiles_and_gaussian_smooths():
    frames = np.linspace(0.2, 0.6, 4 * 32 * 32, dtype=np.float32).reshape(4, 32, 32)
    out = get_op("normalize")(frames, p_low=0.0, p_high=100.0, scope="frame")
    assert out.reshape(4, -1).min(1).max() == 0 and out.reshape(4, -1).max(1).min() == pytest.approx(1)
    noisy = movie(1)
    assert get_op("gaussian")(noisy, sigma_px=2.0).std() < noisy.std()


def test_clahe_raises_local_contrast_in_a_dim_region():
    img = tubes(96)
    img[:, :48] *= 0.2  # a dim half
    out = get_op("clahe")(img[None], clip_limit=3.0)[0]
    assert out[:, :48].std() > 2 * img[:, :48].std()


def test_deoverlay_removes_static_bright_marks_but_not_moving_cells():
    rng = np.random.default_rng(3)
    frames = np.stack([np.roll(tubes(64), (3 * t, 2 * t), axis=(0, 1)) for t in range(6)]).astype(np.float32)
    frames += rng.normal(0, 0.03, frames.shape).astype(np.float32)
    frames[:, 5:9, 40:56] = 0.9  # a burned-in arrow that never moves
    out = get_op("deoverlay")(np.clip(frames, 0, 1))
    assert out[:, 5:9, 40:56].mean() < 0.5
    assert np.abs(out[:, 20:, :] - np.clip(frames, 0, 1)[:, 20:, :]).max() < 1e-6


def test_tile_keeps_foreground_tiles_and_resize_crops_square():
    frame = np.zeros((1, 64, 128), np.float32)
    frame[0, :, :64] = tubes(64)
    tiles, src = get_op("tile")(frame, size=32, min_fg=0.05)
    assert len(tiles) == 4 and (src == 0).all()  # the empty right half gives no tiles
    out, _ = get_op("resize")(frame, size=32)
    assert out.shape == (1, 32, 32)
    np.testing.assert_allclose(out[0], cv2.resize(frame[0, :, 32:96], (32, 32), interpolation=cv2.INTER_AREA), atol=1e-6)
