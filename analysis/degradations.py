"""Degradations of frames with known effects: Gaussian blur and additive noise.

One Gaussian blur for the project (torch, separable, reflect padding): the SSL extractor's
augmentations, the attribution's blurred baseline, the known-answer ladder and the metric
conformance test all blur with it.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def gaussian_blur(x: torch.Tensor, sigma_px: float, radius: int | None = None) -> torch.Tensor:
    """Separable Gaussian blur of ``(N, 1, H, W)`` with reflect padding (same shape out).

    Parameters
    ----------
    sigma_px : float
        Standard deviation of the Gaussian, in pixels.
    radius : int, optional
        Kernel half-width in pixels; default ``ceil(3 * sigma_px)`` (at least 1). The kernel is
        normalised to sum 1 at this radius, then cut to ``size - 1`` on frames too small for it.
    """
    radius = max(1, int(math.ceil(3 * sigma_px))) if radius is None else radius
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    k = torch.exp(-0.5 * (t / sigma_px) ** 2)
    k = k / k.sum()
    # Reflect padding needs pad < size; clamp so tiny frames still work.
    pad = min(radius, x.shape[-1] - 1, x.shape[-2] - 1)
    k = k[radius - pad: radius + pad + 1]
    y = F.conv2d(F.pad(x, (pad, pad, 0, 0), mode="reflect"), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(y, (0, 0, pad, pad), mode="reflect"), k.view(1, 1, -1, 1))


def blur(x: np.ndarray, sigma_px: float) -> np.ndarray:
    """Gaussian blur of ``(N, 1, H, W)`` frames (reflect padding): :func:`gaussian_blur` on arrays."""
    return gaussian_blur(torch.from_numpy(x), sigma_px).numpy()


def add_noise(x: np.ndarray, std: float, seed: int) -> np.ndarray:
    """Gaussian noise of ``std`` (in [0, 1] intensity units), clipped to [0, 1]."""
    rng = np.random.default_rng(seed)
    return np.clip(x + rng.normal(0, std, x.shape).astype(np.float32), 0, 1)
