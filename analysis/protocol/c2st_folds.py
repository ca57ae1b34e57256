"""Leave-movie-out folds for the classifier two-sample test (:func:`analysis.judge.c2st`).

A C2ST folded by ``movie:block`` tests on frames whose neighbours in time were in its training
folds: it learns to recognise movies, so 6 against 2 movies of the same population score
accuracy ≈ 1.0. Folded by whole movie, every test frame comes from a movie the classifier
never saw, and the same comparison scores ≈ 0.5. A generator's samples have no movies: each
frame is its own unit.
"""
from __future__ import annotations

import numpy as np

MIN_MOVIES_PER_SIDE = 2  # one real movie cannot be both trained on and tested on


def movie_groups(movie_ids) -> np.ndarray:
    """(N,) str fold groups: the whole movie of each frame."""
    return np.asarray(movie_ids).astype(str)


def refusal(real_movies, fake_movies=None, min_movies: int = MIN_MOVIES_PER_SIDE) -> str | None:
    """Why a leave-movie-out C2ST is impossible, or None. ``fake_movies=None``: generated frames
    (each its own unit)."""
    n_real = len(np.unique(real_movies))
    n_fake = None if fake_movies is None else len(np.unique(fake_movies))
    if n_real < min_movies or (n_fake is not None and n_fake < min_movies):
        return (f"no C2ST verdict: leave-movie-out folds need at least {min_movies} movies per side, "
                f"got {n_real} real" + ("" if n_fake is None else f" and {n_fake} other"))
    return None


def leave_movie_out_c2st(real, real_movies, fake, fake_movies=None, *, folds: int = 5,
                         min_movies: int = MIN_MOVIES_PER_SIDE, **kwargs) -> dict:
    """:func:`analysis.judge.c2st` with whole movies as folds.

    ``folds`` is lowered to the smaller number of movies per side (every fold then holds at
    least one movie of each side that has movies). Returns c2st's dict plus ``folds`` and
    ``groups: "movie"``, or ``{"refused": reason}`` below ``min_movies`` movies per side.
    """
    from analysis.judge import c2st

    reason = refusal(real_movies, fake_movies, min_movies)
    if reason:
        return {"refused": reason}
    n_movies = [len(np.unique(real_movies))] + ([] if fake_movies is None else [len(np.unique(fake_movies))])
    k = int(min(folds, *n_movies))
    res = c2st(real, fake, folds=k, real_groups=movie_groups(real_movies),
               fake_groups=None if fake_movies is None else movie_groups(fake_movies), **kwargs)
    return {**res, "folds": k, "groups": "movie"}
