"""The built-in metrics: each one function of a :class:`~analysis.metrics.base.Pair` and one
registration line (what it needs, which way is better). Registration order is table order.

Time-lapse real sets: consecutive frames of a movie are near-duplicates, so k-NN balls built on
real frames are set by a frame's own movie. Density / coverage therefore take each real ball's
radius over frames of OTHER movies (:func:`~analysis.metrics.splits.knn_groups`, ``real_groups``
of :func:`analysis.diversity.density_coverage`); without that, coverage was 0 for every model and
for the floor. torch-fidelity's precision / recall keep their plain k-NN balls and suffer the
same shrinkage (read them against their floor, or prefer density / coverage).
"""
from __future__ import annotations

import numpy as np

from analysis import diversity
from analysis.fidelity import fidelity_from_features
from analysis.metrics.base import FEATURES, FRAMES, HIGHER, LOWER, MORPHOLOGY, Pair, register_metric
from analysis.metrics.morphology_distance import morph_distances
from analysis.metrics.splits import knn_groups

MS_SSIM_PAIRS = 200
DC_K = 5  # density / coverage neighbourhood (Naeem et al. 2020's default)


def _whitener(ref: np.ndarray):
    """The whitening of :func:`standardize` fitted on ``ref`` ``(N, D)``, as a function of features.

    Fitted once, it whitens several sets by the same reference (Ledoit-Wolf plus an
    eigendecomposition per fit).
    """
    from sklearn.covariance import LedoitWolf

    lw = LedoitWolf().fit(ref)
    vals, vecs = np.linalg.eigh(lw.covariance_)
    w = vecs @ np.diag(1.0 / np.sqrt(np.clip(vals, 1e-12, None))) @ vecs.T  # C^-1/2, (D, D)
    return lambda feats: (feats - lw.location_) @ w


def standardize(feats: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Features whitened by the reference (real) set: ``(f - mean) @ C^-1/2``, C Ledoit-Wolf.

    Vendi uses cosine similarity; on raw post-ReLU features every pair is similar (all
    coordinates positive, shared directions), so distinct frames would not count as distinct.
    After whitening by the real covariance (shrunk, as N is small), unrelated real frames are
    near-orthogonal and k distinct frames give Vendi ≈ k.
    """
    return _whitener(ref)(feats)


def _fidelity(p: Pair) -> dict:
    """fid / kid / precision / recall in one pass (:func:`fidelity_from_features`)."""
    return p.shared("fidelity", lambda: fidelity_from_features(p.real_feats, p.fake_feats, seed=p.seed))


def _density_coverage(p: Pair) -> dict:
    def make():
        groups = knn_groups(p.real_movie_ids)  # (N,)
        k = min(DC_K, len(groups) - int(np.unique(groups, return_counts=True)[1].max()))
        return diversity.density_coverage(p.real_feats, p.fake_feats, k=k, real_groups=groups)
    return p.shared("density_coverage", make)


def _ndb(p: Pair) -> dict:
    return p.shared("ndb", lambda: diversity.ndb(p.real_feats, p.fake_feats, n_bins=p.n_bins, seed=p.seed))


def _whiten(p: Pair):
    return p.shared("whiten", lambda: _whitener(p.real_feats))


def _morph(p: Pair) -> dict:
    return p.shared("morph", lambda: morph_distances(p.real_morph, p.fake_morph))


@register_metric("fid", needs={FEATURES}, better=LOWER, fidelity=True)
def fid(p: Pair) -> float:
    return _fidelity(p)["fid"]


@register_metric("kid_mean", needs={FEATURES}, better=LOWER, fidelity=True)
def kid_mean(p: Pair) -> float:
    return _fidelity(p)["kid_mean"]


@register_metric("kid_std", needs={FEATURES}, better=None, fidelity=True)
def kid_std(p: Pair) -> float:
    return _fidelity(p)["kid_std"]


@register_metric("precision", needs={FEATURES}, better=HIGHER, fidelity=True)
def precision(p: Pair) -> float:
    return _fidelity(p)["precision"]


@register_metric("recall", needs={FEATURES}, better=HIGHER, fidelity=True)
def recall(p: Pair) -> float:
    return _fidelity(p)["recall"]


@register_metric("density", needs={FEATURES}, better=HIGHER)
def density(p: Pair) -> float:
    return _density_coverage(p)["density"]


@register_metric("coverage", needs={FEATURES}, better=HIGHER)
def coverage(p: Pair) -> float:
    return _density_coverage(p)["coverage"]


@register_metric("ndb", needs={FEATURES}, better=LOWER)
def ndb(p: Pair) -> float:
    return _ndb(p)["ndb"]


@register_metric("ndb_js", needs={FEATURES}, better=LOWER)
def ndb_js(p: Pair) -> float:
    return _ndb(p)["ndb_js"]


VENDI_N = 1000  # the count's kernel matrix is N x N


def _distinct(p: Pair):
    """The suite's one distinct-frame count (:class:`analysis.protocol.score.DistinctCount`),
    in the space of the real frames."""
    from analysis.protocol.score import DistinctCount  # late: the protocol imports this registry
    return p.shared("distinct", lambda: DistinctCount(p.real_feats))


def _count_at_same_n(p: Pair, feats: np.ndarray) -> float:
    """Distinct frames of a seeded subsample of ``feats``, both sides at the same N (at most
    ``VENDI_N``: the count's kernel matrix is N x N)."""
    n = min(len(p.real_feats), len(p.fake_feats), VENDI_N)
    idx = np.random.default_rng(p.seed).choice(len(feats), n, replace=False)
    return _distinct(p).count(feats[np.sort(idx)])


@register_metric("vendi_real", needs={FEATURES}, better=None)
def vendi_real(p: Pair) -> float:
    return _count_at_same_n(p, p.real_feats)


@register_metric("vendi_fake", needs={FEATURES}, better=HIGHER)
def vendi_fake(p: Pair) -> float:
    return _count_at_same_n(p, p.fake_feats)


@register_metric("ms_ssim_real", needs={FRAMES}, better=None)
def ms_ssim_real(p: Pair) -> float:
    return diversity.ms_ssim_intra(p.real, MS_SSIM_PAIRS, p.seed)


@register_metric("ms_ssim_fake", needs={FRAMES}, better=LOWER)
def ms_ssim_fake(p: Pair) -> float:
    return diversity.ms_ssim_intra(p.fake, MS_SSIM_PAIRS, p.seed)


@register_metric("morph_fd", needs={MORPHOLOGY}, better=LOWER)
def morph_fd(p: Pair) -> float:
    return _morph(p)["morph_fd"]


@register_metric("morph_wd", needs={MORPHOLOGY}, better=LOWER)
def morph_wd(p: Pair) -> dict:
    """``wd_<feature>``: 1-D Wasserstein distance of each standardized morphology feature."""
    return {k: v for k, v in _morph(p).items() if k.startswith("wd_")}
