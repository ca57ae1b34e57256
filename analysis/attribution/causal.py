"""Causal check: does blurring a geometric feature change the discriminator's logit more than
blurring the same area of random foreground?

For each frame the feature (tips, branch points, beads) is taken inside the foreground, point
features grown into discs of ``radius_px`` (a single pixel would be invisible to a blur); that
region is replaced by a blurred copy of the frame, and the logit change is compared, frame by
frame, with the change from blurring an equal-area region of foreground outside the feature,
built from the same kind of discs at random points. The reported effect is the paired difference
``delta_feature - delta_random``: negative = the feature makes the frame look more real.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import nn

from analysis.attribution.methods import gaussian_blur
from analysis.attribution.scores import paired_mean_ci

CAUSAL_FEATURES = ("tips", "branch_points", "beads")
POINT_FEATURES = ("tips", "branch_points")  # one pixel wide: grown before blurring


def _disc(radius_px: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius_px + 1,) * 2)


def feature_region(feature: np.ndarray, foreground: np.ndarray, radius_px: int,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The region to blur for one frame's feature, and the pool its control is drawn from.

    The feature is grown by a disc of ``radius_px`` and kept inside the foreground. Where that
    would cover more than the remaining foreground (beads of a pearled tubule can), a random
    subset of its connected parts is kept, so an equal-area control always fits.

    Returns
    -------
    region, pool : (H, W) bool; ``pool`` = foreground outside the *whole* grown feature.
    """
    grown = cv2.dilate(feature.astype(np.uint8), _disc(radius_px)).astype(bool) & foreground
    pool = foreground & ~grown
    n, labels = cv2.connectedComponents(grown.astype(np.uint8), connectivity=8)
    region = np.zeros_like(grown)
    budget = int(pool.sum())
    for lab in rng.permutation(np.arange(1, n)):
        part = labels == lab
        if region.sum() + part.sum() <= budget:
            region |= part
    return region, pool


def random_region(pool: np.ndarray, area: int, radius_px: int,
                  rng: np.random.Generator) -> np.ndarray | None:
    """(H, W) bool of exactly ``area`` pixels of ``pool``: discs (clipped to the pool) around
    random pool points, added until the area is reached, the last one trimmed at random.
    None when ``area`` is 0 or larger than the pool."""
    points = np.flatnonzero(pool)
    if area == 0 or len(points) < area:
        return None
    region = np.zeros(pool.shape, bool)
    disc = _disc(radius_px)
    for p in rng.permutation(points):
        if region.sum() >= area:
            break
        point = np.zeros(pool.shape, np.uint8)
        point.flat[p] = 1
        region |= cv2.dilate(point, disc).astype(bool) & pool
    drop = rng.choice(np.flatnonzero(region), size=int(region.sum()) - area, replace=False)
    region.flat[drop] = False
    return region


def blur_regions(x: torch.Tensor, blurred: torch.Tensor, regions: np.ndarray) -> torch.Tensor:
    """Replace ``regions`` (N, H, W) bool of ``x`` (N, 1, H, W) by ``blurred``, its blurred
    copy, with a 1-px feathered edge so the edit itself adds no sharp contour."""
    w = gaussian_blur(torch.from_numpy(regions[:, None].astype(np.float32)), 1.0).clamp(0, 1)
    w = torch.maximum(w, torch.from_numpy(regions[:, None].astype(np.float32)))
    return x * (1 - w) + blurred * w


@torch.no_grad()
def causal_check(D: nn.Module, x: torch.Tensor, masks: dict[str, np.ndarray], *,
                 radius_px: int = 2, sigma_px: float = 2.0, n_controls: int = 4,
                 n_boot: int = 1000, seed: int = 0) -> dict[str, dict]:
    """Paired blur test per feature of ``CAUSAL_FEATURES``.

    Parameters
    ----------
    D : discriminator, (N, 1, H, W) in [-1, 1] -> (N,) logits, eval mode.
    x : torch.Tensor (N, 1, H, W) float32 in [-1, 1].
    masks : dict name -> (N, H, W) bool; needs ``foreground`` and each of ``CAUSAL_FEATURES``.
    n_controls : random regions per frame, averaged (lowers the control's variance).

    Returns
    -------
    dict feature -> {"delta_feature", "delta_random", "effect", "effect_lo", "effect_hi",
    "n"}: mean logit changes and the paired effect with its bootstrap 95% CI; ``n`` counts
    the frames that had the feature (others are left out).
    """
    rng = np.random.default_rng(seed)
    base = D(x).reshape(-1)  # (N,)
    blurred = gaussian_blur(x, sigma_px)  # every region of every feature is cut from this copy
    out = {}
    for feat in CAUSAL_FEATURES:
        regions = np.zeros((len(x),) + x.shape[-2:], bool)  # (N, H, W)
        controls = np.zeros((n_controls,) + regions.shape, bool)  # (C, N, H, W)
        valid = np.zeros(len(x), bool)
        for i in range(len(x)):
            grow = radius_px if feat in POINT_FEATURES else 0  # beads are already areas
            regions[i], pool = feature_region(masks[feat][i], masks["foreground"][i], grow, rng)
            drawn = [random_region(pool, int(regions[i].sum()), radius_px, rng)
                     for _ in range(n_controls)]
            valid[i] = all(r is not None for r in drawn)
            if valid[i]:
                controls[:, i] = drawn
        d_feat = (D(blur_regions(x, blurred, regions)).reshape(-1) - base).numpy()
        d_rand = np.mean([(D(blur_regions(x, blurred, controls[c])).reshape(-1) - base).numpy()
                          for c in range(n_controls)], axis=0)
        diff = np.where(valid, d_feat - d_rand, np.nan)
        eff, lo, hi, n = paired_mean_ci(diff, n_boot, seed)
        out[feat] = {"delta_feature": float(d_feat[valid].mean()) if n else np.nan,
                     "delta_random": float(d_rand[valid].mean()) if n else np.nan,
                     "effect": eff, "effect_lo": lo, "effect_hi": hi, "n": n}
    return out
