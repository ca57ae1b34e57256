"""A synthetic movie for benchmarks that need frames but not real ones."""
from __future__ import annotations

import numpy as np


def synthetic_movie(n: int, size: int | tuple[int, int], seed: int = 0) -> np.ndarray:
    """(T, Y, X) float32 in [0, 1]: blurred random tubes, drifting, with noise; ``size`` is a side
    (square frames) or ``(Y, X)``."""
    import cv2
    from scipy import ndimage
    h, w = (size, size) if isinstance(size, int) else size
    rng = np.random.default_rng(seed)
    base = np.zeros((h, w), np.float32)
    for _ in range(max(h, w) // 8):
        pts = np.cumsum(rng.normal(0, 8, (10, 2)), 0) + rng.uniform(0, 1, 2) * (w, h)
        cv2.polylines(base, [pts.astype(np.int32)], False, 0.8, 3)
    base = cv2.GaussianBlur(base, (0, 0), 1.5)
    drift = np.cumsum(rng.normal(0, 0.5, (n, 2)), 0)
    frames = np.stack([ndimage.shift(base, d, order=1, mode="nearest") for d in drift])
    return np.clip(frames + 0.05 + rng.normal(0, 0.04, frames.shape), 0, 1).astype(np.float32)
