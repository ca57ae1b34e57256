"""Generator output layers against real intensity histograms (``models/outputs.py``).

Each layer's generator is fitted to the pixel histogram of real frames directly (1-D Wasserstein
by sorting: no discriminator, so the test measures what the layer can draw, not how a GAN
trains). Known answers: HeLa tiles are percentile-clipped fluorescence with 57% exact-zero
pixels, which tanh cannot draw; the simulator's resized frames have almost none (1.6%), which the
fluorescence layer must not invent.
"""
from __future__ import annotations

import numpy as np
import pytest
import torch

from models.backbones import Generator
from models.outputs import output_layer
from bench.errors import MitoError


def fit_histogram(x: np.ndarray, output: str, steps: int = 600, seed: int = 0) -> np.ndarray:
    """Train a 32 px generator so its pixels match the pixels of ``x (N, 1, 32, 32)`` in [0, 1];
    returns 256 of its frames in [0, 1]."""
    torch.manual_seed(seed)
    G = Generator(32, 16, 8, output)
    opt = torch.optim.Adam(G.parameters(), 2e-3, betas=(0.5, 0.999))
    real = torch.from_numpy(x).flatten() * 2 - 1
    gen = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        fake = G(torch.randn(16, 16, generator=gen)).flatten()
        pick = real[torch.randint(len(real), (len(fake),), generator=gen)]
        loss = (fake.sort().values - pick.sort().values).abs().mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        return ((G.eval()(torch.randn(256, 16, generator=gen)) + 1) / 2).clamp(0, 1).numpy()


def w1(a: np.ndarray, b: np.ndarray) -> float:
    q = np.linspace(0, 1, 201)
    return float(np.abs(np.quantile(a, q) - np.quantile(b, q)).mean())


def _fits(x):
    x = x.astype(np.float32)
    return x, {o: fit_histogram(x, o) for o in ("tanh", "fluorescence")}


def test_hela_exact_zero_background(shared_data):
    from analysis.protocol.ladder import hela_movies
    x, fit = _fits(hela_movies(shared_data, size=32).x)
    zeros = (x == 0).mean()
    assert 0.5 < zeros < 0.65 and np.median(x) == 0  # the known answer of the data
    assert (fit["tanh"] == 0).mean() == 0 and np.median(fit["tanh"]) > 0  # the haze
    assert abs((fit["fluorescence"] == 0).mean() - zeros) < 0.08
    assert np.median(fit["fluorescence"]) < 0.002
    assert w1(x, fit["fluorescence"]) < 0.6 * w1(x, fit["tanh"])
    # the heavy tail: the top 1% of pixels as bright as the real ones (within 20%)
    assert abs(np.quantile(fit["fluorescence"], 0.99) / np.quantile(x, 0.99) - 1) < 0.2


def test_simulator_background_is_not_zeroed():
    from analysis.protocol.ladder import simulator_movies
    x, fit = _fits(simulator_movies(per_class=4, frames=6, size=32).x)
    zeros = (x == 0).mean()
    assert zeros < 0.03
    assert abs((fit["fluorescence"] == 0).mean() - zeros) < 0.03  # no invented background
    assert abs(np.median(fit["fluorescence"]) / np.median(x) - 1) < 0.3
    assert w1(x, fit["fluorescence"]) < 0.01 and w1(x, fit["tanh"]) < 0.01


def test_intensity_stats_known_answer():
    from analysis.intensity import intensity_stats
    x = np.zeros((10, 1, 10, 10), np.float32)  # 1000 pixels: 600 background, 400 at 0.1 .. 0.499
    x.reshape(-1)[600:] = np.arange(400) / 1000 + 0.1
    s = intensity_stats(x)
    assert s["zero_fraction"] == 0.6 and s["pixel_median"] == 0.0
    assert s["pixel_p99"] == pytest.approx(np.quantile(x, 0.99)) and 0.48 < s["pixel_p99"] < 0.49
    x.reshape(-1)[:600] = 1e-4  # a faint haze is not background
    assert intensity_stats(x)["zero_fraction"] == 0 and intensity_stats(x)["pixel_median"] == pytest.approx(1e-4)


def test_clamp_passes_gradient_and_unknown_output_is_refused():
    layer = output_layer("fluorescence")
    h = torch.tensor([-5.0, 0.0, 5.0], requires_grad=True)
    y = layer(h)
    assert y.tolist() == [-1.0, 0.0, 1.0]
    y.sum().backward()
    assert (h.grad > 0).all()  # a clamped pixel can still be lit again
    with pytest.raises(MitoError, match="unknown generator output 'relu'"):
        output_layer("relu")
