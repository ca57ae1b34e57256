"""Compute only the pixels the pipeline keeps: the geometry op's region pushed back through the
local ops before it.

``register|normalize|nlm|laplacian|resize`` on a 1080×385 frame keeps only the centred 385×385
square, so running ``nlm`` (the costliest op) on the whole frame wastes 64% of its time. Local
ops (``Op.halo`` set: an output pixel reads input pixels within ``halo`` px) commute with a crop
that keeps that much context: crop the frames to the region plus the summed halo of the trailing
run of local ops, run them, and trim the halo back off. Where the crop touches the frame's edge
there is no halo to add, and the op sees the same edge as on the whole frame, so the result is
the same, not an approximation: bit for bit for 8-bit ops (``nlm``), within one float32 rounding
(OpenCV's vector loops and their scalar tails fall on other pixels of a narrower row) for filters. The geometry op then gets exactly its region, which it reads whole
(the centred square of a square is the square). Non-local ops (drift registration, movie percentiles, Otsu, CLAHE)
run on whole frames, before the crop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from preprocessing.ops import get_op


@dataclass(frozen=True)
class Crop:
    """Where to crop: before step ``at``; ``outer`` boxes ``(y0, y1, x0, x1)`` the frame region
    computed, ``inner`` (relative to ``outer``) the region the geometry op reads."""

    at: int
    outer: tuple[int, int, int, int]
    inner: tuple[int, int, int, int]

    def enter(self, x: np.ndarray) -> np.ndarray:
        y0, y1, x0, x1 = self.outer
        return np.ascontiguousarray(x[:, y0:y1, x0:x1])  # (T, Y', X')

    def leave(self, x: np.ndarray) -> np.ndarray:
        y0, y1, x0, x1 = self.inner
        return x[:, y0:y1, x0:x1]


def plan(steps, shape_yx: tuple[int, int], size: int) -> Crop | None:
    """The crop for ``steps`` (the pipeline's resolved ``(name, params)``) on frames of
    ``shape_yx``, or ``None`` when it would save nothing (the last op reads every pixel, or no
    local op precedes it)."""
    *body, (geo_name, geo_params) = steps
    region = get_op(geo_name).region
    if region is None:
        return None
    h, w = shape_yx
    y0, y1, x0, x1 = region((h, w), size, geo_params)
    at, halo = len(body), 0
    while at > 0 and get_op(body[at - 1][0]).halo is not None:
        at -= 1
        halo += get_op(body[at][0]).halo(body[at][1])
    if at == len(body):
        return None
    outer = (max(0, y0 - halo), min(h, y1 + halo), max(0, x0 - halo), min(w, x1 + halo))
    if outer == (0, h, 0, w):
        return None
    inner = (y0 - outer[0], y1 - outer[0], x0 - outer[2], x1 - outer[2])
    return Crop(at, outer, inner)
