"""How a real set is split and sized for the floor: by-movie halves, k-NN groups of a
time-lapse set, NDB bins and the generated frames whose morphology is measured.

The floor of a metric (``HALVES`` in :mod:`analysis.metrics.base`) is the same metric between two
halves of the REAL set, split by movie (never frames of one movie on both sides): what a perfect
generator would score at this N, as the mean over up to ``FLOOR_SPLITS`` distinct splits with
their standard deviation (``floor_sd``).
"""
from __future__ import annotations

import numpy as np

from analysis.judge import movie_blocks

SINGLE_MOVIE_BLOCKS = 4  # one-movie real set: runs of consecutive frames stand in for movies
# Real-vs-real floor = mean over this many by-movie half splits (10, like Inception Score's
# splits); their spread is ``floor_sd``. One split's floor moves with which movies land together:
# FID floor 2.85 ± 1.1 on the 25 simulated movies of ``python -m bench.perf.metrics``.
FLOOR_SPLITS = 10
MORPH_MAX_FAKE, MORPH_FAKE_PER_REAL = 1000, 2  # see morph_sample


def halves_by_movie(movie_ids: np.ndarray, seed: int = 0, largest_first: bool = True) -> tuple[np.ndarray, str]:
    """Boolean mask of half A of the frames, and how the split was made.

    Movies go, one by one, to the half with fewer frames so far: largest first with ties broken
    by a seeded shuffle (the most balanced split), or in a seeded random order
    (``largest_first=False``: other splits for the floor's spread). One movie only: its first
    and second halves in time (``"time"``), said in the result.
    """
    movie_ids = np.asarray(movie_ids).astype(str)
    ids, counts = np.unique(movie_ids, return_counts=True)
    if len(ids) < 2:
        half = np.zeros(len(movie_ids), bool)
        half[: len(movie_ids) // 2] = True
        return half, "time"
    order = np.random.default_rng(seed).permutation(len(ids))
    if largest_first:
        order = order[np.argsort(-counts[order], kind="stable")]
    in_a, n_a, n_b = set(), 0, 0
    for i in order:
        if n_a <= n_b:
            in_a.add(ids[i])
            n_a += counts[i]
        else:
            n_b += counts[i]
    return np.isin(movie_ids, list(in_a)), "movie"


def floor_halves(movie_ids: np.ndarray, seed: int = 0, splits: int = FLOOR_SPLITS) -> tuple[list, str]:
    """Up to ``splits`` distinct by-movie half splits (masks of half A) for the floor, and how.

    The first is the balanced split of :func:`halves_by_movie`; the others fill the halves in
    seeded random movie orders. A split equal to an earlier one or to its mirror image is
    dropped, so two movies (or one, split in time) give a single split.
    """
    first, how = halves_by_movie(movie_ids, seed)
    halves, seen = [first], {first.tobytes(), (~first).tobytes()}
    for i in range(1, 4 * splits):  # a few tries each: small movie counts repeat splits
        if len(halves) == splits or how == "time":
            break
        half = halves_by_movie(movie_ids, seed + i, largest_first=False)[0]
        if half.tobytes() not in seen:
            halves.append(half)
            seen.update({half.tobytes(), (~half).tobytes()})
    return halves, how


def ndb_bins(n_small: int) -> int:
    """NDB bin count for small N: about 10 frames per bin of the smaller floor half, 2–50 bins."""
    return int(np.clip(n_small // 10, 2, 50))


def morph_sample(n_fake: int, n_real: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of the generated frames whose morphology is measured: all of them up to
    ``max(MORPH_MAX_FAKE, MORPH_FAKE_PER_REAL * n_real)``, else a seeded random subset of that
    size. Beyond it the morphology distances' sampling error is set by the real side
    (``python -m bench.perf.metrics`` prints the spread over subsets); features use every frame."""
    cap = max(MORPH_MAX_FAKE, MORPH_FAKE_PER_REAL * n_real)
    if n_fake <= cap:
        return np.arange(n_fake)
    return np.sort(np.random.default_rng(seed).choice(n_fake, cap, replace=False))


def knn_groups(movie_ids: np.ndarray, blocks: int = SINGLE_MOVIE_BLOCKS) -> np.ndarray:
    """(N,) str groups for the density / coverage radii of a real set: its movies; a single
    movie (frames in time order) is cut into ``blocks`` runs of consecutive frames instead."""
    ids = np.asarray(movie_ids).astype(str)
    if len(np.unique(ids)) >= 2:
        return ids
    return movie_blocks(ids, np.arange(len(ids)), blocks)
