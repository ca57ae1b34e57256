"""The protocol's metrics of one comparison: samples against held-out (reference) frames.

Everything here works on per-frame quantities computed once (features ``(N, D)``, morphology
rows ``(N, F)``, nearest-training-frame distances ``(N,)``), so a bootstrap replicate only
re-indexes them. One function, :func:`measure`, computes every metric of one (reference,
samples) pair; ``METRICS`` names them with the direction that is worse.

Copy-aware fidelity. The reference is always held-out movies, so a copier of the training set
is scored exactly like the floor's train frames, never better than a new-movie sampler. On top:

* k-NN balls of the reference take their radius over frames of OTHER reference movies
  (consecutive frames of a movie are near-duplicates; a ball set by them is tiny and misses
  every other movie, real or generated);
* ``precision``: fraction of samples inside a reference ball;
* copying is measured apart, with a known null: ``copy_fraction`` is the fraction of samples
  nearer a training frame than the ``q``-quantile of the reference frames' distances to train
  (a fresh movie: ``q``), ``copy_auc`` Meehan et al.'s statistic (a fresh movie: 0.5). Both
  enter the objective, so a copier ranks below a new-movie sampler;
* ``coverage`` and ``density`` (Naeem et al. 2020) use the same reference balls; recall with
  sample-side balls is not reported (its radii depend on how the samples are grouped in time,
  which differs between a generator and real movies); coverage is the recall here.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.spatial.distance import cdist

DC_K = 5  # density / coverage / precision neighbourhood (Naeem et al.'s default)
COPY_QUANTILE = 0.1  # "closer to train than held-out frames typically are": below this quantile

# metric -> +1 when larger is worse, -1 when smaller is worse, 0 both ways
METRICS = {"fid": +1, "kid": +1, "precision": -1, "density": 0, "coverage": -1,
           "vendi_ratio": -1, "copy_fraction": +1, "copy_auc": +1, "morph_fd": +1, "spectrum_fd": +1}
SPECTRUM_BANDS = 8
VERSION = "1"  # bump when a metric here changes: part of the protocol's cache keys


@dataclass(frozen=True)
class Side:
    """Per-frame quantities of one side of a comparison (rows aligned).

    ``feats`` (N, D) extractor features; ``z`` (N, D) the same standardised per feature by all
    real frames (fixed for the protocol); ``groups`` (N,) str unit ids; ``d_train`` (N,)
    distance to the nearest training frame (for train frames: of another movie); ``tables``
    name -> (N, F) per-frame descriptors standardised by all real frames (``morph``:
    :func:`analysis.morphology.morphology_table`; ``spectrum``: :func:`spectrum_rows`), each
    scored as ``<name>_fd``.
    """

    feats: np.ndarray
    z: np.ndarray
    groups: np.ndarray
    d_train: np.ndarray
    tables: dict

    def take(self, idx: np.ndarray) -> "Side":
        return Side(self.feats[idx], self.z[idx], self.groups[idx], self.d_train[idx],
                    {k: v[idx] for k, v in self.tables.items()})


def spectrum_rows(x: np.ndarray) -> np.ndarray:
    """Low-level image statistics per frame: ``(N, 1, H, W)`` -> ``(N, SPECTRUM_BANDS + 3)``.

    log10 mean power of the frame's 2-D spectrum in ``SPECTRUM_BANDS`` radial frequency bands
    (log-spaced from 1 cycle per frame to Nyquist), then the 1st, 50th and 99th intensity
    percentiles. Why: the feature extractor is trained to ignore defocus and camera noise (its
    augmentations), so a generator that blurs or adds noise would pass every feature metric;
    blur removes and noise adds high-frequency power.
    """
    f = np.asarray(x, np.float64)[:, 0]
    n, h, w = f.shape
    power = np.abs(np.fft.fft2(f - f.mean(axis=(1, 2), keepdims=True))) ** 2  # (N, H, W)
    fy, fx = np.meshgrid(np.fft.fftfreq(h) * h, np.fft.fftfreq(w) * w, indexing="ij")
    radius = np.hypot(fy, fx)  # cycles per frame
    edges = np.geomspace(1, min(h, w) / 2, SPECTRUM_BANDS + 1)
    band = np.digitize(radius, edges) - 1  # (H, W), -1 = DC, SPECTRUM_BANDS = beyond Nyquist
    rows = [np.log10(power[:, band == b].mean(1) + 1e-12) for b in range(SPECTRUM_BANDS)]
    return np.column_stack(rows + list(np.percentile(f.reshape(n, -1), [1, 50, 99], axis=1)))


def frechet(a: np.ndarray, b: np.ndarray) -> float:
    """Fréchet distance between Gaussian fits of rows of ``a`` (N, D) and ``b`` (M, D).

    ``tr sqrt(C1 C2)`` from the eigenvalues of ``C1^1/2 C2 C1^1/2`` (symmetric PSD), stable
    when a covariance is singular.
    """
    c1, c2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    vals, vecs = np.linalg.eigh(c1)
    root1 = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ c2 @ root1), 0, None)).sum()
    fd = ((a.mean(0) - b.mean(0)) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * cross
    return float(max(fd, 0.0))


def kid(a: np.ndarray, b: np.ndarray) -> float:
    """Unbiased MMD² with torch-fidelity's KID kernel ``(x.y / D + 1)^3`` on all rows at once
    (the mean of the subset estimator over all subsets; no subset size to pick at small N)."""
    d = a.shape[1]
    kxx, kyy, kxy = ((u @ v.T / d + 1) ** 3 for u, v in ((a, a), (b, b), (a, b)))
    n, m = len(a), len(b)
    return float((kxx.sum() - np.trace(kxx)) / (n * (n - 1)) + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
                 - 2 * kxy.mean())


def other_group_radius(x: np.ndarray, groups: np.ndarray, k: int) -> np.ndarray:
    """(N,) distance of each row to its k-th nearest row of ANOTHER group."""
    d = cdist(x, x)
    d[groups[:, None] == groups[None, :]] = np.inf
    return np.partition(d, k - 1, axis=1)[:, k - 1]


def dc_k(groups: np.ndarray) -> int:
    """Neighbourhood size: ``DC_K``, less when some group leaves fewer frames outside it."""
    _, counts = np.unique(groups, return_counts=True)
    return int(max(1, min(DC_K, len(groups) - counts.max())))


def vendi_count(z: np.ndarray, bandwidth: float) -> float:
    """Effective number of distinct frames: Vendi score (Friedman & Dieng 2023) with the
    Gaussian kernel ``exp(-d^2 / 2 h^2)`` on standardised features ``z`` (N, D), in [1, N].

    The one definition used everywhere. ``h`` is fixed by the real data (the median distance of
    a real frame to its nearest other real frame): frames closer than a frame's next one in time
    count as about one, frames much farther apart as distinct, so k distinct frames repeated
    give ≈ k, and a real time-lapse set counts about as many as its frames differ at that scale.
    A cosine kernel on raw (post-ReLU, all-positive) features makes everything similar
    ("Vendi 2.4 of 1000" for real frames); cosine on features whitened by a set favours that set.
    """
    k = np.exp(-cdist(z, z, "sqeuclidean") / (2 * bandwidth ** 2))
    lam = np.clip(np.linalg.eigvalsh(k / len(z)), 0, None)
    lam = lam[lam > 1e-12]
    return float(np.exp(-(lam * np.log(lam)).sum()))


def copy_auc(d_sample: np.ndarray, d_ref: np.ndarray) -> float:
    """P(d_sample < d_ref) + ½ P(tie): Meehan et al.'s (2020) Mann-Whitney statistic as an AUC.
    0.5 = samples as far from train as fresh movies; 1 = every sample nearer (copying)."""
    s = np.sort(d_ref)
    below = np.searchsorted(s, d_sample, side="left")
    above = len(s) - np.searchsorted(s, d_sample, side="right")
    return float(((above + 0.5 * (len(s) - below - above)) / len(s)).mean())


def _pick(w: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    return w[rng.choice(len(w), n, replace=False)] if len(w) > n else w


def reference_stats(ref: Side, n_vendi: int, bandwidth: float, rng: np.random.Generator) -> dict:
    """What :func:`measure` needs of the reference alone: its k-NN radii to other movies and its
    Vendi count at ``n_vendi`` frames. Computed once per reference draw and shared by every
    sample set scored against it (the floor and each model): half of a replicate's work."""
    k = dc_k(ref.groups)
    return {"k": k, "radius": other_group_radius(ref.feats, ref.groups, k),
            "vendi": vendi_count(_pick(ref.z, n_vendi, rng), bandwidth)}


def measure(ref: Side, samp: Side, n_vendi: int, bandwidth: float, q: float = COPY_QUANTILE,
            rng: np.random.Generator | None = None, ref_stats: dict | None = None) -> dict[str, float]:
    """Every metric of ``METRICS`` for samples ``samp`` against reference ``ref``.

    ``n_vendi``: frames of each side whose Vendi counts are compared (the same N both sides);
    ``bandwidth``: the Vendi kernel's (:func:`vendi_count`); ``ref_stats``:
    :func:`reference_stats` of ``ref`` when already known.
    """
    rng = rng or np.random.default_rng(0)
    r = ref_stats or reference_stats(ref, n_vendi, bandwidth, rng)
    out = {"fid": frechet(ref.feats, samp.feats), "kid": kid(ref.feats, samp.feats)}
    inside = cdist(ref.feats, samp.feats) < np.asarray(r["radius"])[:, None]  # (N, M): in a ball
    out["precision"] = float(inside.any(0).mean())
    out["density"] = float(inside.sum(0).mean() / r["k"])
    out["coverage"] = float(inside.any(1).mean())
    out["vendi_ratio"] = vendi_count(_pick(samp.z, n_vendi, rng), bandwidth) / r["vendi"]
    out["copy_fraction"] = float((samp.d_train < np.quantile(ref.d_train, q)).mean())
    out["copy_auc"] = copy_auc(samp.d_train, ref.d_train)
    for name, table in ref.tables.items():  # rows already standardised
        out[f"{name}_fd"] = frechet(table, samp.tables[name])
    return out
