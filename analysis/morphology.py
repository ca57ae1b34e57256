"""The one fixed segmentation and the morphology of mitochondrial networks.

Every trial's real and generated frames go through the same rules here, whatever preprocessing
the trial trained on; the protocol compares a generator's frames with real frames of its own
pipeline, so the rules are the same on both sides of every comparison.

Segmentation (:func:`segment`), per frame, intensities float32 in [0, 1]:

1. Gaussian blur, ``SIGMA_PX`` = 1 px.
2. Otsu threshold on a 256-bin histogram spanning the blurred frame's own min..max.
3. Guard against blank / noise-only frames (which Otsu would otherwise split in half): the frame
   is empty unless (a) its blurred range and (b) the gap between the two Otsu class means are
   at least ``MIN_CONTRAST`` (0.05), and (c) that gap is at least ``MIN_SEPARATION`` (3.3) times
   the pooled within-class std. Pure noise fields split by Otsu give 2.6-3.2 (Gaussian, uniform,
   exponential, log-normal, Poisson, blurred noise; 64 px); 64 px tiles of the real HeLa movie
   give 4.5-19. Cost: a few tiles inside dense, evenly bright cells fall below 3.3 and come out
   empty (10 of 225 overlapping tiles of the zelda still whose mean is > 0.15).
4. Objects (8-connected) smaller than ``MIN_OBJECT_PX`` = 4 px are removed.

Geometry is measured with every frame surrounded by 1 px of background (objects cut by the
frame edge end there). Connectivity is 8 everywhere. Lengths and widths are in pixels.

Skeleton, tips, junctions, local width and beads follow the rules documented in
:mod:`analysis.pixel_geometry`.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
from scipy import ndimage as ndi

from analysis.pixel_geometry import (EIGHT, bead_peaks, branch_lengths, distance_to_background,
                                     label8, shape_stats, skeleton_graph)
from bench.errors import MitoError

#: Bump whenever a rule here or in ``pixel_geometry`` changes: cache keys of morphology tables
#: must include it so stale tables are never reused.
MORPHOLOGY_VERSION = "2"
SIGMA_PX = 1.0
MIN_CONTRAST = 0.05
MIN_SEPARATION = 3.3
MIN_OBJECT_PX = 4
# Frames per mosaic in ``morphology_table``: a few MB per array stays in cache and reuses freed
# memory; one mosaic of 5,000 frames was 2.2x slower (page faults on 100 MB temporaries).
CHUNK_FRAMES = 256
NECK_FLOOR = 0.25
_BINS = 256


def _check_frames(img, where: str) -> np.ndarray:
    arr = np.asarray(img)
    if arr.ndim == 4 and arr.shape[1] == 1:  # (N, 1, H, W) -> (N, H, W)
        arr = arr[:, 0]
    if arr.ndim not in (2, 3) or min(arr.shape[-2:]) < 1:
        raise MitoError(where, f"expected an image (H, W) or a stack (N, H, W), got shape {arr.shape}")
    arr = arr.astype(np.float32, copy=False)
    if not np.isfinite(arr).all():
        raise MitoError(where, "image contains NaN or infinite values")
    if arr.size and (arr.min() < -1e-3 or arr.max() > 1 + 1e-3):
        raise MitoError(where, f"intensities must lie in [0, 1], got {arr.min():g}..{arr.max():g} "
                               "(scale 8/16-bit images, or map [-1, 1] generator output, first)")
    return arr


def _otsu(smooth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame Otsu classes of ``smooth`` (N, H, W) with the blank-frame guard.

    Returns the bool (N, H, W) foreground and the (N,) neck floor (see ``bead_peaks``):
    ``NECK_FLOOR`` of the way from the background class mean up to the threshold.
    """
    n = smooth.shape[0]
    flat = smooth.reshape(n, -1)  # (N, P)
    lo, hi = flat.min(1), flat.max(1)
    span = np.maximum(hi - lo, 1e-12)
    q = np.minimum(((flat - lo[:, None]) / span[:, None] * _BINS).astype(np.int64), _BINS - 1)
    hist = np.bincount((q + _BINS * np.arange(n)[:, None]).ravel(), minlength=n * _BINS)
    p = hist.reshape(n, _BINS) / flat.shape[1]  # (N, B)
    centres = np.arange(_BINS) + 0.5
    w0 = np.cumsum(p, 1)[:, :-1]  # class 0 = bins <= k, for k = 0 .. B-2
    m0 = np.cumsum(p * centres, 1)[:, :-1]
    mt = (p * centres).sum(1, keepdims=True)
    w1 = 1.0 - w0
    with np.errstate(divide="ignore", invalid="ignore"):
        between = np.where((w0 > 0) & (w1 > 0), (mt * w0 - m0) ** 2 / (w0 * w1), 0.0)
        k = between.argmax(1)
        rows = np.arange(n)
        total = (p * (centres - mt) ** 2).sum(1)
        b, wk = between[rows, k], w0[rows, k] * w1[rows, k]
        separation = np.sqrt(b / np.maximum(wk * (total - b), 1e-12))  # class gap / within std
        mean_gap = (mt[:, 0] - m0[rows, k] / w0[rows, k]) / w1[rows, k] * span / _BINS
    ok = (hi - lo >= MIN_CONTRAST) & (separation >= MIN_SEPARATION) & (mean_gap >= MIN_CONTRAST)
    background = lo + m0[rows, k] / w0[rows, k] * span / _BINS
    threshold = lo + (k + 1) * span / _BINS
    floor = background + NECK_FLOOR * (threshold - background)
    return (q > k[:, None]).reshape(smooth.shape) & ok[:, None, None], floor


def _segment(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(N, H, W) frames -> foreground bool (N, H, W), blurred frames (N, H, W), neck floors (N,)."""
    # scipy's kernel (radius 4 sigma) and "nearest" edges; cv2 per frame is ~5x faster than
    # ndi.gaussian_filter on the stack (values equal to ~2e-7).
    kernel = cv2.getGaussianKernel(2 * int(4 * SIGMA_PX + 0.5) + 1, SIGMA_PX, cv2.CV_32F)
    smooth = np.empty(frames.shape, np.float32)
    for i, frame in enumerate(np.clip(frames, 0, 1).astype(np.float32, copy=False)):
        smooth[i] = cv2.sepFilter2D(frame, -1, kernel, kernel, borderType=cv2.BORDER_REPLICATE)
    mask, floor = _otsu(smooth)
    n, h, w = mask.shape
    padded = np.pad(mask, ((0, 0), (1, 1), (1, 1)))  # objects never connect across frames
    labels = label8(padded.reshape(n * (h + 2), w + 2))[0].reshape(padded.shape)[:, 1:-1, 1:-1]
    keep = np.bincount(labels.ravel()) >= MIN_OBJECT_PX
    keep[0] = False
    return keep[labels], smooth, floor


def segment(img) -> np.ndarray:
    """Segment mitochondria with the project's one fixed rule (see the module docstring).

    Parameters
    ----------
    img : np.ndarray
        float32 intensities in [0, 1], one frame (H, W) or a stack (N, H, W) or (N, 1, H, W).

    Returns
    -------
    np.ndarray
        bool foreground mask, (H, W) or (N, H, W).
    """
    arr = _check_frames(img, "segment")
    mask = _segment(arr[None] if arr.ndim == 2 else arr)[0]
    return mask[0] if arr.ndim == 2 else mask


def skeleton_parts(mask) -> dict[str, np.ndarray]:
    """Skeleton, branch points and tips of a foreground mask.

    Parameters
    ----------
    mask : np.ndarray
        bool (H, W) foreground.

    Returns
    -------
    dict
        ``skeleton``, ``branch_points`` (all pixels of junction clusters), ``tips``; bool (H, W).
        The number of junctions is the number of 8-connected components of ``branch_points``.
    """
    m = np.asarray(mask)
    if m.ndim != 2:
        raise MitoError("skeleton_parts", f"expected a 2-D mask (H, W), got shape {m.shape}")
    padded = np.pad(m.astype(bool), 1)
    parts = skeleton_graph(padded, distance_to_background(padded))
    return {k: parts[k][1:-1, 1:-1] for k in ("skeleton", "branch_points", "tips")}


def geometric_masks(img) -> dict[str, np.ndarray]:
    """Geometric parts of one frame, as masks for attribution enrichment.

    Parameters
    ----------
    img : np.ndarray
        float32 (H, W) in [0, 1] (a frame; it is segmented with :func:`segment`).

    Returns
    -------
    dict[str, np.ndarray]
        bool (H, W) masks: ``foreground``; ``boundary`` (foreground minus its 3x3 erosion);
        ``skeleton``; ``branch_points`` and ``tips`` (dilated by 1 px, within the foreground);
        ``thick`` / ``thin`` (foreground pixels whose nearest skeleton pixel has local width
        above / at most the frame's median skeleton width); ``beads`` (disks of the bead
        radius around each bead centre, within the foreground); ``background``.
    """
    arr = _check_frames(img, "geometric_masks")
    if arr.ndim != 2:
        raise MitoError("geometric_masks", f"expected one frame (H, W), got shape {arr.shape}")
    mask, smooth, floor = _segment(arr[None])
    fg, smooth = np.pad(mask[0], 1), np.pad(smooth[0], 1)
    edt = distance_to_background(fg)
    parts = skeleton_graph(fg, edt)
    skel = parts["skeleton"]
    width = 2 * edt - 1
    thick = np.zeros_like(fg)
    if skel.any():
        thick_skel = skel & (width > np.median(width[skel]))
        iy, ix = ndi.distance_transform_edt(~skel, return_distances=False, return_indices=True)
        thick = fg & thick_skel[iy, ix]
    beads = bead_peaks(smooth, np.full(fg.shape[0], floor[0]), fg, edt, parts["branch_points"])
    bead_disk = np.zeros_like(fg)
    if beads.any():  # each pixel joins its nearest bead centre if within that bead's radius
        dist, (iy, ix) = ndi.distance_transform_edt(beads == 0, return_indices=True)
        bead_disk = dist < edt[iy, ix]
    out = dict(
        foreground=fg,
        boundary=fg & ~ndi.binary_erosion(fg, EIGHT),
        skeleton=skel,
        branch_points=fg & ndi.binary_dilation(parts["branch_points"], EIGHT),
        tips=fg & ndi.binary_dilation(parts["tips"], EIGHT),
        thick=thick,
        thin=fg & ~thick,
        beads=fg & bead_disk,
        background=~fg,
    )
    return {k: v[1:-1, 1:-1] for k, v in out.items()}


MORPH_FEATURES = ("area_px", "branch_length_px", "branches_per_network", "junctions", "end_points",
                  "tubule_width_px", "form_factor", "aspect_ratio", "solidity", "bead_count")


def _per_frame(values: np.ndarray, frame: np.ndarray, n: int) -> np.ndarray:
    """Mean of ``values`` grouped by ``frame`` (0 for frames without any value)."""
    total = np.bincount(frame, weights=values, minlength=n)
    count = np.bincount(frame, minlength=n)
    return np.divide(total, count, out=np.zeros(n), where=count > 0)


def morphology_table(imgs):
    """Morphology features of every frame after :func:`segment` (pixels throughout).

    Parameters
    ----------
    imgs : np.ndarray
        float32 (N, H, W) or (N, 1, H, W) in [0, 1].

    Returns
    -------
    pandas.DataFrame
        One row per frame, columns ``MORPH_FEATURES``: ``area_px`` foreground pixels;
        ``branch_length_px`` mean branch length (branches = 8-connected pieces of the skeleton
        minus junction pixels); ``branches_per_network`` branches / skeleton components;
        ``junctions``; ``end_points`` (tips); ``tubule_width_px`` mean local width on the
        skeleton; ``form_factor``, ``aspect_ratio``, ``solidity``: means over objects (see
        ``pixel_geometry.shape_stats``); ``bead_count``. An empty frame has 0 everywhere.
    """
    import pandas as pd

    arr = _check_frames(imgs, "morphology_table")
    if arr.ndim != 3:
        raise MitoError("morphology_table", f"expected a stack (N, H, W), got shape {arr.shape}")
    chunks = [arr[i:i + CHUNK_FRAMES] for i in range(0, len(arr), CHUNK_FRAMES)]
    # cv2, numpy and scipy release the GIL in the heavy steps: 1.85x on 2 cores (threads, so
    # no copies of the frames); a frame's row does not depend on its chunk.
    with ThreadPoolExecutor(min(len(chunks), os.cpu_count() or 1, 8) or 1) as pool:
        parts = list(pool.map(_table, chunks))
    return pd.DataFrame(np.concatenate(parts) if parts else np.zeros((0, len(MORPH_FEATURES))),
                        columns=list(MORPH_FEATURES))


def _table(arr: np.ndarray) -> np.ndarray:
    """Morphology features of a chunk of frames (N, H, W) -> (N, F) float64, F = MORPH_FEATURES."""
    n, h, w = arr.shape
    # All frames as one tall mosaic, each framed by 1 px of background: one pass of every
    # operation instead of N (nothing crosses the 2 px gaps between frames).
    mask, smooth, floor = _segment(arr)
    mosaic = (n * (h + 2), w + 2)
    frame_px = (h + 2) * (w + 2)  # pixels of one framed frame: frame of flat index i = i // frame_px
    mask = np.pad(mask, ((0, 0), (1, 1), (1, 1))).reshape(mosaic)
    smooth = np.pad(smooth, ((0, 0), (1, 1), (1, 1))).reshape(mosaic)
    edt = distance_to_background(mask)
    parts = skeleton_graph(mask, edt)
    skel = parts["skeleton"]
    objects, n_obj = label8(mask)
    networks, n_net = label8(skel)
    segments, n_seg = label8(skel & ~parts["branch_points"])
    beads = bead_peaks(smooth, np.repeat(floor, h + 2), mask, edt, parts["branch_points"])  # (H, W) labels

    def label_frames(labels, count):  # frame of each label 1..count
        at = np.flatnonzero(labels)
        out = np.zeros(count + 1, np.int64)
        out[labels.ravel()[at]] = at // frame_px
        return out[1:]

    count = lambda frame_ids: np.bincount(frame_ids, minlength=n).astype(np.float64)  # noqa: E731
    per_frame = lambda a: a.reshape(n, frame_px).sum(1, dtype=np.float64)  # noqa: E731  (N,) sums
    form, aspect, solidity = shape_stats(objects, n_obj)
    obj_frame, seg_frame = label_frames(objects, n_obj), label_frames(segments, n_seg)
    n_branch, n_network = count(seg_frame), count(label_frames(networks, n_net))
    clusters = parts["clusters"]
    table = {
        "area_px": per_frame(mask),
        "branch_length_px": _per_frame(branch_lengths(segments, n_seg), seg_frame, n),
        "branches_per_network": np.divide(n_branch, n_network, out=np.zeros(n), where=n_network > 0),
        "junctions": count(label_frames(clusters, int(clusters.max()))[parts["junction_ids"] - 1]),
        "end_points": per_frame(parts["tips"]),
        "tubule_width_px": np.divide(per_frame(np.where(skel, 2 * edt - 1, 0)), per_frame(skel),
                                     out=np.zeros(n), where=per_frame(skel) > 0),
        "form_factor": _per_frame(form, obj_frame, n),
        "aspect_ratio": _per_frame(aspect, obj_frame, n),
        "solidity": _per_frame(solidity, obj_frame, n),
        "bead_count": count(label_frames(beads, int(beads.max()))),
    }
    return np.stack([table[k] for k in MORPH_FEATURES], 1)
