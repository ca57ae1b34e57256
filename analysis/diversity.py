"""Diversity and mode-collapse metrics on feature vectors (N, D) and on images (N, 1, H, W).

- :func:`density_coverage`: density and coverage of Naeem et al. (2020), "Reliable fidelity and
  diversity metrics for generative models" (same k-NN radii and strict inequalities as the
  reference ``prdc`` package, so values match it); optionally with k-NN radii taken across
  groups (movies) only, for time-lapse real sets.
- :func:`ndb`: number of statistically different bins (Richardson & Weiss 2018).
- :func:`ms_ssim_intra`: mean MS-SSIM between random pairs within one set (higher = less diverse).
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F  # avg_pool2d between scales
from scipy.spatial.distance import cdist

from bench.errors import MitoError

# Scale weights of Wang et al. (2003); the first ``n_scales`` are used and renormalised.
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
SSIM_WINDOW_PX = 11
SSIM_SIGMA_PX = 1.5


def check_features(x, where: str, min_rows: int = 2) -> np.ndarray:
    """``x`` as float64 (N, D) with N >= ``min_rows`` and finite values, else MitoError."""
    a = np.asarray(x, dtype=np.float64)
    if a.ndim != 2 or a.shape[0] < min_rows:
        raise MitoError(where, f"expected features (N, D) with N >= {min_rows}, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise MitoError(where, "features contain NaN or infinite values")
    return a


def _kth_nn_radius(x: np.ndarray, k: int, groups: np.ndarray | None = None) -> np.ndarray:
    """Distance of each row of ``x`` to its k-th nearest other row -> (N,).

    With ``groups`` (N,), only rows of other groups count as neighbours.
    """
    d = cdist(x, x)  # (N, N)
    if groups is None:
        return np.partition(d, k, axis=1)[:, k]  # the zero self-distance is the 0-th neighbour
    d[groups[:, None] == groups[None, :]] = np.inf  # own group, self included, never sets it
    return np.partition(d, k - 1, axis=1)[:, k - 1]


def density_coverage(real_feats, fake_feats, k: int = 5, real_groups=None) -> dict[str, float]:
    """Density and coverage (Naeem et al. 2020) of fake features against real ones.

    Parameters
    ----------
    real_feats, fake_feats : np.ndarray
        (N, D) and (M, D) features; N > k.
    k : int
        Neighbourhood size: each real sample's ball has the radius of its k-th nearest real
        neighbour.
    real_groups : array-like, optional
        (N,) group label of each real sample (its movie, or a run of consecutive frames of it).
        When given, a real sample's k-th nearest neighbour is sought among real samples of OTHER
        groups only; every group needs at least ``k`` real samples outside it. Without it the
        values equal the reference ``prdc`` package's.

    Returns
    -------
    dict
        ``density``: mean over fake samples of (number of real balls containing it) / k
        (about 1 when fake matches real, > 1 when fakes crowd real modes);
        ``coverage``: fraction of real balls that contain at least one fake sample.

    Notes
    -----
    Small-N / time-lapse adaptation (``real_groups``): the balls of Naeem et al. assume i.i.d.
    real samples. Frames of one time-lapse movie are near-duplicates of their neighbours in
    time, so with the plain radius each frame's ball is set by its own movie's frames and is
    tiny: no frame of another movie, real or generated, falls inside it, and coverage is 0 even
    real-vs-real. Taking the radius across groups measures a ball at the scale that separates
    independent samples (movies), which is what the metric's k-NN estimate of the real support
    means at large N. The same near-duplicate effect shrinks the k-NN balls of torch-fidelity's
    precision / recall, which are left as torch-fidelity computes them.
    """
    real = check_features(real_feats, "density_coverage: real", k + 1)
    fake = check_features(fake_feats, "density_coverage: fake", 1)
    groups = None
    if real_groups is not None:
        groups = np.unique(np.asarray(real_groups).astype(str), return_inverse=True)[1].ravel()  # (N,)
        if len(groups) != len(real):
            raise MitoError("density_coverage", f"real_groups has {len(groups)} labels for {len(real)} "
                            "real samples")
        outside = len(real) - np.bincount(groups).max()
        if outside < k:
            raise MitoError("density_coverage", f"k={k} needs at least {k} real samples outside every "
                            f"group; the largest group leaves {outside}")
    radius = _kth_nn_radius(real, k, groups)  # (N,)
    inside = cdist(real, fake) < radius[:, None]  # (N, M)
    return {"density": float(inside.sum(0).mean() / k), "coverage": float(inside.any(1).mean())}


def ndb(real_feats, fake_feats, n_bins: int = 20, seed: int = 0, alpha: float = 0.05) -> dict[str, float]:
    """Number of statistically-Different Bins between real and fake features.

    Real features are clustered by k-means (k-means++, 3 restarts, ``seed``) into ``n_bins``
    bins; fake features go to their nearest centre. For each bin a two-sided two-proportion z-test (pooled proportion) compares
    the real and fake fractions at level ``alpha``.

    Returns
    -------
    dict
        ``ndb``: fraction of bins that differ significantly (0 = same distribution);
        ``ndb_js``: Jensen-Shannon divergence (base 2, in [0, 1]) of the two bin histograms.
    """
    from scipy.spatial.distance import jensenshannon
    from scipy.stats import norm
    from sklearn.cluster import KMeans

    real = check_features(real_feats, "ndb: real", n_bins)
    fake = check_features(fake_feats, "ndb: fake", 1)
    km = KMeans(n_clusters=n_bins, n_init=3, random_state=seed).fit(real)
    p_real = np.bincount(km.labels_, minlength=n_bins) / len(real)
    p_fake = np.bincount(km.predict(fake), minlength=n_bins) / len(fake)
    pooled = (p_real * len(real) + p_fake * len(fake)) / (len(real) + len(fake))
    se = np.sqrt(pooled * (1 - pooled) * (1 / len(real) + 1 / len(fake)))
    z = np.abs(p_real - p_fake) / np.maximum(se, 1e-12)
    different = z > norm.ppf(1 - alpha / 2)
    return {"ndb": float(different.mean()), "ndb_js": float(jensenshannon(p_real, p_fake, base=2) ** 2)}


def _blur(x: torch.Tensor, taps: torch.Tensor) -> torch.Tensor:
    """'valid' separable filtering of (..., H, W) by ``taps`` (K,) along both image axes.

    Written as products with banded (Toeplitz) matrices instead of ``F.conv2d``: the same
    convolution, but one-channel conv2d on the CPU was ~7x slower than these batched matmuls.
    """
    def band(n: int) -> torch.Tensor:  # (n, n - K + 1): column j holds taps at rows j .. j+K-1
        k = taps.numel()
        m = torch.zeros(n, n - k + 1, dtype=taps.dtype)
        for j in range(n - k + 1):
            m[j:j + k, j] = taps
        return m

    return band(x.shape[-2]).T @ x @ band(x.shape[-1])


def ms_ssim(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """MS-SSIM of image pairs a, b: (P, 1, H, W) float in [0, 1] -> (P,).

    Wang et al. (2003) with an 11 px Gaussian window (sigma 1.5 px, 'valid' convolution) and
    data range 1. Small images: only as many scales as keep the smaller side >= the window
    (64 px -> 3 scales, 32 px -> 2) with the first weights renormalised to sum to 1; below
    11 px the window shrinks to the image. Negative contrast-structure terms are clamped to 0
    before the fractional powers (as common implementations do).
    """
    side = min(a.shape[-2:])
    win = min(SSIM_WINDOW_PX, side if side % 2 else side - 1)
    n_scales = max(1, min(len(MS_SSIM_WEIGHTS), int(np.floor(np.log2(side / win))) + 1))
    weights = torch.tensor(MS_SSIM_WEIGHTS[:n_scales], dtype=torch.float64)
    weights = weights / weights.sum()
    offsets = torch.arange(win, dtype=torch.float64) - (win - 1) / 2
    taps = torch.exp(-offsets ** 2 / (2 * SSIM_SIGMA_PX ** 2))
    taps = taps / taps.sum()
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    a, b = a.double(), b.double()  # float64: the variance differences cancel badly in float32
    result = torch.ones(a.shape[0], dtype=torch.float64)
    for s in range(n_scales):
        # the five local moments in one batched filtering: (5 P, 1, h, w) -> 5 x (P, 1, h, w)
        mu_a, mu_b, aa, bb, ab = _blur(torch.cat([a, b, a * a, b * b, a * b]), taps).chunk(5)
        var_a, var_b, cov = aa - mu_a ** 2, bb - mu_b ** 2, ab - mu_a * mu_b
        cs = (2 * cov + c2) / (var_a + var_b + c2)
        if s == n_scales - 1:
            cs = cs * (2 * mu_a * mu_b + c1) / (mu_a ** 2 + mu_b ** 2 + c1)  # luminance at the coarsest
        result = result * cs.mean(dim=(1, 2, 3)).clamp(min=0) ** weights[s]
        a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
    return result


def ms_ssim_intra(imgs, n_pairs: int = 500, seed: int = 0) -> float:
    """Mean MS-SSIM between ``n_pairs`` random pairs of distinct images of one set.

    Parameters
    ----------
    imgs : np.ndarray
        (N, 1, H, W) float in [0, 1], N >= 2.
    n_pairs : int
        Number of random (i, j), i != j pairs (drawn with replacement, seeded).

    Returns
    -------
    float
        1 for a set of identical images; lower for a more diverse set.
    """
    x = np.asarray(imgs, dtype=np.float32)
    if x.ndim != 4 or x.shape[1] != 1 or x.shape[0] < 2:
        raise MitoError("ms_ssim_intra", f"expected images (N, 1, H, W) with N >= 2, got shape {x.shape}")
    rng = np.random.default_rng(seed)
    i = rng.integers(0, len(x), n_pairs)
    j = (i + rng.integers(1, len(x), n_pairs)) % len(x)  # never i itself
    t = torch.from_numpy(x)
    with torch.no_grad():
        scores = torch.cat([ms_ssim(t[i[s:s + 256]], t[j[s:s + 256]]) for s in range(0, n_pairs, 256)])
    return float(scores.mean())
