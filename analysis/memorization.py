"""Memorization and effective support of a generator, from feature vectors (N, D).

- :func:`nearest_train`: each generated sample's nearest training sample (Euclidean).
- :func:`data_copying`: a Meehan et al. (2020) style data-copying test: are generated samples
  closer to the training set than held-out real samples are?
- :func:`authenticity`: the fraction of generated samples that are not copies in the sense of
  Alaa et al. (2022).
- :func:`birthday_support`: effective support size from near-duplicate rates (Arora & Zhang 2017,
  "birthday paradox" test).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import mannwhitneyu
from sklearn.neighbors import NearestNeighbors

from analysis.diversity import check_features as _feats
from bench.errors import MitoError


def nearest_train(fake_feats, train_feats) -> tuple[np.ndarray, np.ndarray]:
    """Nearest training sample of every generated sample.

    Returns
    -------
    idx : np.ndarray
        (M,) int, row of ``train_feats`` nearest to each fake row.
    dist : np.ndarray
        (M,) float, the Euclidean distance to it.
    """
    fake = _feats(fake_feats, "nearest_train: fake", 1)
    train = _feats(train_feats, "nearest_train: train", 1)
    dist, idx = NearestNeighbors(n_neighbors=1).fit(train).kneighbors(fake)
    return idx[:, 0], dist[:, 0]


def _train_self_nn(train: np.ndarray) -> np.ndarray:
    """Distance of each training row to its nearest OTHER training row -> (N,)."""
    dist, _ = NearestNeighbors(n_neighbors=2).fit(train).kneighbors(train)
    return dist[:, 1]


def data_copying(train_feats, heldout_feats, fake_feats, alpha: float = 0.05) -> dict[str, float]:
    """Test whether generated samples sit closer to the training set than held-out real ones.

    The nearest-training-neighbour distances of the fake samples and of the held-out samples are
    compared by a one-sided Mann-Whitney U test (alternative: fake distances are stochastically
    smaller). This is Meehan et al.'s (2020) ``Z_U`` statistic computed over the whole space
    (their test also averages it over k-means cells; with ~600 frames one global test keeps
    enough samples per group).

    Returns
    -------
    dict
        ``z``: normal-approximation z of U (negative: fakes closer than held-out = copying;
        around 0: like fresh real samples; positive: fakes farther = underfitting);
        ``p``: one-sided p-value; ``median_ratio``: median fake distance / median held-out
        distance; ``copying``: 1.0 when ``p < alpha`` else 0.0.
    """
    train = _feats(train_feats, "data_copying: train", 1)
    held = _feats(heldout_feats, "data_copying: heldout", 2)
    fake = _feats(fake_feats, "data_copying: fake", 2)
    d_fake = nearest_train(fake, train)[1]
    d_held = nearest_train(held, train)[1]
    u, p = mannwhitneyu(d_fake, d_held, alternative="less")
    m, n = len(d_fake), len(d_held)
    z = (u - m * n / 2) / np.sqrt(m * n * (m + n + 1) / 12)
    ratio = np.median(d_fake) / max(np.median(d_held), 1e-12)
    return {"z": float(z), "p": float(p), "median_ratio": float(ratio), "copying": float(p < alpha)}


def authenticity(train_feats, fake_feats) -> float:
    """Fraction of generated samples that are authentic (Alaa et al. 2022).

    A fake sample is unauthentic when it is closer to its nearest training sample ``j`` than
    ``j`` is to its own nearest other training sample: it then sits inside ``j``'s neighbourhood
    more tightly than real data does. Returns a float in [0, 1]; 1 = no sample looks copied.
    """
    train = _feats(train_feats, "authenticity: train", 2)
    fake = _feats(fake_feats, "authenticity: fake", 1)
    idx, dist = nearest_train(fake, train)
    return float((dist > _train_self_nn(train)[idx]).mean())


def birthday_support(fake_feats, real_feats=None, *, threshold: float | None = None,
                     quantile: float = 0.05, batch_size: int | None = None, n_batches: int = 200,
                     seed: int = 0) -> dict[str, float]:
    """Effective number of distinct samples a generator produces (birthday-paradox estimate).

    Two samples are duplicates when their feature distance is <= ``threshold``; by default
    the ``quantile`` of the real samples' nearest-other-real distances (real frames closer than
    that are near-copies of each other, e.g. consecutive movie frames).

    Estimators (both assume a uniform distribution over ``S`` distinct outputs):

    - ``support``: ``1 / r`` where ``r`` is the duplicate rate over all fake pairs; for a
      non-uniform generator this is ``1 / sum(p_i^2)``, the Renyi-2 effective number of modes.
    - ``support_batch``: Arora & Zhang's batch form. ``p_batch`` is the fraction of ``n_batches``
      random batches of ``batch_size`` ``s`` (seeded) containing at least one duplicate pair;
      ``P(dup) = 1 - exp(-s (s - 1) / (2 S))`` gives ``S = s (s - 1) / (2 ln(1 / (1 - p)))``.
      Arora & Zhang grow ``s`` until ``p`` is about 1/2, where this is best conditioned; the
      default ``s`` goes there directly: the size that gives ``p = 1/2`` if ``S = support``
      (clipped to [2, M]). A batch estimate far from ``support`` means a non-uniform output.

    With no duplicate seen the estimate is a lower bound: ``support`` is then the number of
    pairs examined (one duplicate would have given that) and ``lower_bound`` is 1.0.

    Returns
    -------
    dict
        ``support``, ``support_batch``, ``p_batch``, ``dup_rate``, ``threshold``,
        ``batch_size``, ``lower_bound``.
    """
    from sklearn.neighbors import radius_neighbors_graph

    fake = _feats(fake_feats, "birthday_support: fake", 2)
    if threshold is None:
        if real_feats is None:
            raise MitoError("birthday_support", "give real_feats (to set the threshold) or threshold")
        real = _feats(real_feats, "birthday_support: real", 2)
        threshold = float(np.quantile(_train_self_nn(real), quantile))
    # Sparse (M, M) graph of duplicate pairs (distance <= threshold): no dense M x M matrix.
    close = radius_neighbors_graph(fake, threshold, mode="connectivity", include_self=False).tocsr()
    m = len(fake)
    n_pairs = m * (m - 1) / 2
    n_dup = close.nnz / 2
    support = n_pairs / max(n_dup, 1.0)
    s = int(batch_size or min(m, max(2, round(0.5 + np.sqrt(0.25 + 2 * np.log(2) * support)))))
    rng = np.random.default_rng(seed)
    hits = 0
    for _ in range(n_batches):
        b = rng.choice(m, size=min(s, m), replace=False)
        hits += int(close[b][:, b].nnz > 0)
    p = hits / n_batches
    p_used = min(max(p, 1 / (2 * n_batches)), 1 - 1 / (2 * n_batches))  # avoid log(0) / log(inf)
    return {
        "support": float(support),
        "support_batch": float(s * (s - 1) / (2 * np.log(1 / (1 - p_used)))),
        "p_batch": float(p),
        "dup_rate": float(n_dup / n_pairs),
        "threshold": float(threshold),
        "batch_size": float(s),
        "lower_bound": float(n_dup == 0),
    }
