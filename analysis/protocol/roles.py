"""The three roles of the protocol and the by-movie split that makes them.

Real frames are *train* (what a generator saw) or *held-out* (movies it never saw); a generator
gives *samples*. Every role carries the independent unit of each frame: its movie for real
frames (frames of one movie are near-duplicates, never independent), and for a generator's
samples each frame on its own (every latent draw is independent) unless the caller knows better
(a planted generator made of real movies keeps their movie ids).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.errors import MitoError

from preprocessing.split import MIN_HELDOUT_MOVIES, Split, split_by_movie

__all__ = ["MIN_HELDOUT_MOVIES", "Role", "Split", "make_role", "split_by_movie"]


@dataclass(frozen=True)
class Role:
    """Frames in one role: ``x`` ``(N, 1, H, W)`` float32 in [0, 1]; ``units`` ``(N,)`` str, the
    independent unit (movie) of each frame; ``strata`` ``(N,)`` str or None, the label a split
    was stratified by (the bootstrap then resamples movies within each label, as they were drawn)."""

    name: str
    x: np.ndarray
    units: np.ndarray
    strata: np.ndarray | None = None

    @property
    def n_units(self) -> int:
        return int(len(np.unique(self.units)))

    def subset(self, idx: np.ndarray) -> "Role":
        return Role(self.name, self.x[idx], self.units[idx], None if self.strata is None else self.strata[idx])


def make_role(name: str, x, units=None, strata=None) -> Role:
    """A checked :class:`Role`; ``units=None`` makes every frame its own unit (generator samples)."""
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] != 1 or len(x) == 0:
        raise MitoError(name, f"expected frames (N >= 1, 1, H, W), got shape {x.shape}")
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise MitoError(name, "frames must be finite and in [0, 1]")
    units = np.array([f"{name}#{i}" for i in range(len(x))]) if units is None else \
        np.asarray(units).astype(str)
    if units.shape != (len(x),):
        raise MitoError(name, f"{len(units)} movie ids for {len(x)} frames")
    if strata is not None:
        strata = np.asarray(strata).astype(str)
        if strata.shape != (len(x),):
            raise MitoError(name, f"{len(strata)} labels for {len(x)} frames")
    return Role(name, x, units, strata)

