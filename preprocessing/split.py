"""Movies into train and held-out: by whole movie, stratified by label where movies carry one.

Used by :meth:`preprocessing.dataset.Dataset.split` (so training, evaluation and every job
hold out the same movies) and by the protocol (:mod:`analysis.protocol.roles`).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.errors import MitoError

MIN_HELDOUT_MOVIES = 2  # fewer: no interval over movies, hence no verdict


@dataclass(frozen=True)
class Split:
    """Movies of each role (sorted) and how they were drawn (``"stratified by label"`` or
    ``"random"``)."""

    train: tuple
    heldout: tuple
    how: str

    def is_heldout(self, movie_ids) -> np.ndarray:
        """(N,) bool: the frame's movie is held out."""
        return np.isin(np.asarray(movie_ids).astype(str), self.heldout)


def _movie_labels(ids: np.ndarray, movie_ids: np.ndarray, labels) -> dict:
    """movie -> its one label (a movie whose frames disagree is refused)."""
    labels = np.asarray(labels).astype(str)
    if labels.shape != movie_ids.shape:
        raise MitoError("labels", f"{len(labels)} labels for {len(movie_ids)} frames")
    out = {}
    for m in ids:
        lab = np.unique(labels[movie_ids == m])
        if len(lab) != 1:
            raise MitoError("labels", f"movie {m!r} has frames of several labels {list(lab)}: "
                            "labels must be per movie to stratify a split by movie")
        out[m] = lab[0]
    return out


def split_by_movie(movie_ids, labels=None, heldout_fraction: float = 0.25, seed: int = 0,
                   min_heldout: int = MIN_HELDOUT_MOVIES) -> Split:
    """Split movies into train and held-out, stratified by label when movies carry one.

    Per label, ``round(heldout_fraction * n)`` of its movies (seeded shuffle) are held out, at
    least one when the label has two or more movies and never all of them, so every label with
    two movies is represented on both sides. Then, while fewer than ``min_heldout`` movies are
    held out and train keeps more than ``min_heldout``, one more movie of the label with most
    train movies moves over: two held-out (and two train) movies are the least an interval over
    movies needs. With fewer than ``2 * min_heldout`` movies no verdict is possible either way,
    and training keeps the movies.

    Parameters
    ----------
    movie_ids : array-like
        ``(N,)`` movie of each frame (or one entry per movie).
    labels : array-like, optional
        ``(N,)`` label of each frame, constant within a movie (simulator class, ``--labels``).
    """
    if not 0 < heldout_fraction < 1:
        raise MitoError("heldout_fraction", f"must be in (0, 1), got {heldout_fraction}")
    movie_ids = np.asarray(movie_ids).astype(str)
    ids = np.unique(movie_ids)
    if len(ids) < 2:
        raise MitoError("split", f"need at least 2 movies to hold some out, got {len(ids)}")
    lab = _movie_labels(ids, movie_ids, labels) if labels is not None else {m: "" for m in ids}
    rng = np.random.default_rng(seed)
    by_label = {g: list(rng.permutation([m for m in ids if lab[m] == g])) for g in sorted(set(lab.values()))}
    held = {g: ms[:min(len(ms) - 1, max(int(len(ms) >= 2), int(round(heldout_fraction * len(ms)))))]
            for g, ms in by_label.items()}
    n_held = lambda: sum(map(len, held.values()))  # noqa: E731
    while n_held() < min_heldout and len(ids) - n_held() > min_heldout:
        spare = {g: len(ms) - len(held[g]) for g, ms in by_label.items()}  # train movies per label
        g = max(spare, key=lambda k: (spare[k], k))  # a label that keeps a train movie if any can
        held[g] = by_label[g][:len(held[g]) + 1]
    heldout = tuple(sorted(str(m) for ms in held.values() for m in ms))
    train = tuple(sorted(str(m) for m in set(ids) - set(heldout)))
    how = "stratified by label" if labels is not None else "random"
    return Split(train, heldout, how)
