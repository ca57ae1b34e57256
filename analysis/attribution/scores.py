"""Enrichment of attribution mass on geometric masks, with bootstrap confidence intervals.

Enrichment of a mask = (share of the frames' total |attribution| that falls inside the mask) /
(share of the frames' area the mask covers). 1 means "no more attention than its size";
aggregated over frames as a ratio of sums, so frames where a feature is absent count as zero
mass and zero area instead of producing 0/0.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CI = (2.5, 97.5)


def mask_stats(maps: np.ndarray, masks: dict[str, np.ndarray]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per-frame (mass share, area share) of each mask.

    Parameters
    ----------
    maps : np.ndarray (N, H, W) float, >= 0
        Attribution magnitudes.
    masks : dict name -> np.ndarray (N, H, W) bool

    Returns
    -------
    dict name -> (mass (N,), area (N,)) float64 shares in [0, 1].
    """
    total = maps.reshape(len(maps), -1).sum(1)  # (N,)
    total = np.where(total > 0, total, 1.0)
    hw = maps.shape[1] * maps.shape[2]
    out = {}
    for name, m in masks.items():
        mass = (maps * m).reshape(len(maps), -1).sum(1) / total
        area = m.reshape(len(m), -1).sum(1) / hw
        out[name] = (mass.astype(np.float64), area.astype(np.float64))
    return out


def _ratio(mass: np.ndarray, area: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """Ratio of sums over frames for each bootstrap row of ``idx`` (B, N) -> (B,)."""
    a = area[idx].sum(1)
    return np.where(a > 0, mass[idx].sum(1) / np.where(a > 0, a, 1.0), np.nan)


def bootstrap_indices(n: int, n_boot: int, seed: int) -> np.ndarray:
    """Frame resampling indices (n_boot, n); row 0 is the identity (the point estimate)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, n, size=(n_boot + 1, n))
    idx[0] = np.arange(n)
    return idx


def enrichment(mass: np.ndarray, area: np.ndarray, idx: np.ndarray) -> tuple[float, float, float]:
    """(estimate, CI low, CI high) of the enrichment, bootstrapped over frames."""
    r = _ratio(mass, area, idx)
    lo, hi = np.nanpercentile(r[1:], CI) if np.isfinite(r[1:]).any() else (np.nan, np.nan)
    return float(r[0]), float(lo), float(hi)


def enrichment_over_null(trained: tuple[np.ndarray, np.ndarray], null: tuple[np.ndarray, np.ndarray],
                         idx: np.ndarray) -> tuple[float, float, float]:
    """(ratio, CI low, CI high) of trained enrichment / null enrichment, paired bootstrap:
    the same resampled frames feed both, so frame-to-frame variation common to both cancels."""
    r = _ratio(*trained, idx) / _ratio(*null, idx)
    ok = np.isfinite(r[1:])
    lo, hi = np.percentile(r[1:][ok], CI) if ok.any() else (np.nan, np.nan)
    return float(r[0]), float(lo), float(hi)


def paired_mean_ci(diff: np.ndarray, n_boot: int, seed: int) -> tuple[float, float, float, int]:
    """Mean of per-frame paired differences with a bootstrap CI; NaN frames are dropped.
    Returns (mean, low, high, n)."""
    d = diff[np.isfinite(diff)]
    if len(d) == 0:
        return np.nan, np.nan, np.nan, 0
    idx = bootstrap_indices(len(d), n_boot, seed)
    means = d[idx].mean(1)
    lo, hi = np.percentile(means[1:], CI)
    return float(means[0]), float(lo), float(hi), len(d)


# Joint ("unique") scores. Masks overlap: the skeleton and "thick" run through every bead, so
# a discriminator that looks only at beads also enriches them. Regressing each frame's
# attribution density on all masks at once separates what each feature adds on top of the
# others; foreground/background act as the intercepts, "thin" (= foreground minus thick)
# would be collinear and is left to the intercept.
DESIGN = ("foreground", "background", "boundary", "skeleton", "branch_points", "tips", "thick",
          "beads")
UNIQUE = DESIGN[2:]


@dataclass(frozen=True)
class Design:
    """The mask-only part of the joint regression for one set of frames, built once and shared
    by every map scored on those frames (each method, trained and null).

    Attributes
    ----------
    X : (N, P, K) float64 design: frame, pixel, mask of ``DESIGN``.
    idx : (B + 1, N) bootstrap rows (``bootstrap_indices``) the coefficients are resampled over.
    pinv : (B + 1, K, K) pseudo-inverse of ``XtX`` summed over the frames of each row of ``idx``.
    """

    X: np.ndarray
    idx: np.ndarray
    pinv: np.ndarray


def design(masks: dict[str, np.ndarray], idx: np.ndarray) -> Design:
    """:class:`Design` of ``density ~ sum_k beta_k mask_k`` over the K = len(DESIGN) masks
    (N, H, W) bool, for the bootstrap rows ``idx``."""
    n = len(masks[DESIGN[0]])
    X = np.stack([masks[k].reshape(n, -1) for k in DESIGN], -1).astype(np.float64)  # (N, P, K)
    XtX = np.einsum("npk,npl->nkl", X, X)  # (N, K, K)
    # pinv: a feature absent from a resample has an all-zero column; its coefficient is then
    # 0, not an error
    return Design(X, idx, np.linalg.pinv(XtX[idx].sum(1)))


def design_moments(maps: np.ndarray, d: Design) -> np.ndarray:
    """Per-frame ``Xty`` (N, K) of the normal equations for ``maps`` (N, H, W) on ``d``.

    ``density`` (y) is the map divided by its frame mean (each frame weighs the same)."""
    n = len(maps)
    y = maps.reshape(n, -1).astype(np.float64)
    y = y / np.where(y.mean(1, keepdims=True) > 0, y.mean(1, keepdims=True), 1.0)  # (N, P)
    return np.einsum("npk,np->nk", d.X, y)


def _coefs(d: Design, Xty: np.ndarray) -> np.ndarray:
    """(B + 1, K) coefficients, one row per bootstrap row of ``d.idx``."""
    return np.einsum("bkl,bl->bk", d.pinv, Xty[d.idx].sum(1))


def unique_excess(d: Design, trained: np.ndarray,
                  null: np.ndarray) -> dict[str, tuple[float, float, float]]:
    """Excess attribution density each feature adds beyond the other masks, trained minus
    randomized-D coefficient (in units of the frame-mean density), with paired bootstrap CI.

    ``trained``, ``null`` : ``design_moments`` of the two maps on ``d``.
    Returns feature -> (estimate, CI low, CI high) for the features in ``UNIQUE``."""
    diff = _coefs(d, trained) - _coefs(d, null)  # (B + 1, K)
    out = {}
    for j, k in enumerate(DESIGN):
        if k in UNIQUE:
            lo, hi = np.percentile(diff[1:, j], CI)
            out[k] = (float(diff[0, j]), float(lo), float(hi))
    return out
