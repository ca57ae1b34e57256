"""Pixel-intensity summaries of a frame set: the background and the bright tail.

Percentile-clipped fluorescence (the pipeline's ``normalize``) has an exact-zero background
(HeLa tiles: 57–67% of pixels) and a heavy bright tail; a tanh generator paints a faint haze
instead (``models/outputs.py``). Feature-space metrics barely see that haze, so ``evaluate`` logs
these three numbers for the held-out frames (``real_<stat>``) and the samples (``fake_<stat>``)
and the report prints them beside the morphology.

``x``: frames ``(N, 1, Y, X)`` or ``(N, Y, X)``, float in [0, 1] (intensity after the pipeline;
0 is the movie's clipped 1st percentile). A pixel counts as background only when exactly 0:
the clip makes it exact in real frames and the fluorescence output's clamp in generated ones.
"""
from __future__ import annotations

import numpy as np

# stat -> how the report names it
INTENSITY_STATS = {"zero_fraction": "exact-zero pixels (fraction)", "pixel_median": "pixel median",
                   "pixel_p99": "pixel 99th percentile"}


def intensity_stats(x: np.ndarray) -> dict[str, float]:
    """``{"zero_fraction", "pixel_median", "pixel_p99"}`` over every pixel of ``x``."""
    v = np.asarray(x, dtype=np.float32).ravel()
    if not v.size:
        raise ValueError("intensity_stats of an empty frame set")
    med, p99 = np.quantile(v, [0.5, 0.99])
    return {"zero_fraction": float((v == 0).mean()), "pixel_median": float(med), "pixel_p99": float(p99)}


def intensity_keys() -> list[str]:
    """The flat keys ``evaluate`` writes: ``real_zero_fraction``, ``fake_pixel_p99``, ..."""
    return [f"{side}_{stat}" for side in ("real", "fake") for stat in INTENSITY_STATS]
