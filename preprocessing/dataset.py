"""Imported data sets: frames on disk, one ``.npy`` per movie, described by ``manifest.json``.

Layout of ``<workspace>/datasets/<name>/``::

    manifest.json          name, hash, intensity mapping, movies, frames (see below)
    movies/<movie_id>.npy  (T, Y, X) float32 in [0, 1], one file per movie (an ROI of a source
                           file is a movie of its own)

``manifest["movies"]``: one dict per movie with ``id``, ``source`` (absolute path), ``roi``
(``[x0, y0, x1, y1]`` or ``None``), ``channel``, ``z`` (how z was handled), ``n_frames``,
``shape`` (``[Y, X]``), ``source_dtype`` and ``meta`` (free-form, e.g. ground truth of simulated
movies or a condition label). ``manifest["frames"]``: one dict per frame with ``movie_id``,
``source``, ``frame_index`` (time index in the source), ``z_index`` (``None`` for projections),
``roi``. ``manifest["hash"]`` is the sha256 of every movie's float32 bytes, in movie order, so it
changes whenever a pixel or the intensity mapping does.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from bench.errors import MitoError
from bench.workspace import datasets_dir, workspace_dir
from preprocessing.split import split_by_movie

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass
class Dataset:
    """A data set of frames (float32 in [0, 1], axes TYX per movie) read from the workspace."""

    name: str
    root: Path
    manifest: dict = field(repr=False)

    @classmethod
    def load(cls, name: str, workspace=None) -> "Dataset":
        """Open data set ``name`` from the workspace (``MitoError`` when absent or damaged)."""
        root = datasets_dir(workspace_dir(workspace)) / name
        path = root / MANIFEST
        if not path.is_file():
            raise MitoError(name, f"no such data set in {root.parent} (see `mitogan data list`)")
        try:
            manifest = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise MitoError(path, f"damaged manifest ({err})") from err
        return cls(name=name, root=root, manifest=manifest)

    @property
    def hash(self) -> str:
        return self.manifest["hash"]

    @property
    def movies(self) -> list[dict]:
        return self.manifest["movies"]

    @property
    def movie_ids(self) -> list[str]:
        return [m["id"] for m in self.movies]

    @property
    def n_frames(self) -> int:
        return sum(m["n_frames"] for m in self.movies)

    def movie(self, movie_id: str) -> dict:
        for m in self.movies:
            if m["id"] == movie_id:
                return m
        raise MitoError(self.name, f"no movie {movie_id!r} (movies: {', '.join(self.movie_ids)})")

    def frames(self, movie_id: str, mmap: bool = True) -> np.ndarray:
        """Frames of one movie, ``(T, Y, X)`` float32 in [0, 1] (memory-mapped by default)."""
        self.movie(movie_id)
        return np.load(self.root / "movies" / f"{movie_id}.npy", mmap_mode="r" if mmap else None)

    def iter_movies(self):
        """Yield ``(movie_id, frames (T, Y, X))`` for every movie, in manifest order."""
        for movie_id in self.movie_ids:
            yield movie_id, self.frames(movie_id)

    def movie_labels(self) -> dict[str, str] | None:
        """movie id -> its label (meta ``label``, else ``class``: the simulator's morphology
        class) when every movie carries one, else None."""
        labels = {m["id"]: (m.get("meta") or {}).get("label", (m.get("meta") or {}).get("class"))
                  for m in self.movies}
        return None if any(v is None for v in labels.values()) else {k: str(v) for k, v in labels.items()}

    def split(self, heldout_fraction: float = 0.25, seed: int = 0,
              among=None) -> tuple[list[str], list[str]]:
        """Split movies (never frames of one movie on both sides) into train and held-out.

        :func:`preprocessing.split.split_by_movie`: stratified by label when every movie carries
        one (:meth:`movie_labels`), at least two held-out movies when the data set has four or
        more (the least an interval over movies needs). Deterministic in ``seed`` and the movie
        ids; a one-movie data set cannot be split by movie.

        ``among``: the movies to split, e.g. those a pipeline left frames of (a ``tile`` with
        ``min_fg`` drops every tile of a nearly empty movie). A movie with no frame would
        otherwise take a held-out place and leave the verdict one movie short. Movies outside
        ``among`` are on neither side.
        """
        ids = sorted(self.movie_ids if among is None else set(self.movie_ids) & set(map(str, among)))
        if heldout_fraction <= 0:
            return ids, []
        if len(ids) < 2:
            raise MitoError(self.name, "has one movie: cannot hold out movies for evaluation "
                            "(import more movies or several --roi, or use heldout_fraction 0)")
        labels = self.movie_labels()
        s = split_by_movie(ids, None if labels is None else [labels[i] for i in ids],
                           heldout_fraction, seed)
        return list(s.train), list(s.heldout)


def list_datasets(workspace=None) -> list[Dataset]:
    """Every data set in the workspace, sorted by name (half-written temp folders are skipped)."""
    root = datasets_dir(workspace_dir(workspace))
    if not root.is_dir():
        return []
    return [Dataset.load(p.name, workspace) for p in sorted(root.iterdir())
            if (p / MANIFEST).is_file() and not p.name.startswith(".")]
