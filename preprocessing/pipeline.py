"""Pipelines: ordered named ops → a cached training tensor ``(N, 1, size, size)``.

A pipeline is written as a spec string, ``register|normalize(p_low=1,p_high=99.8)|nlm(h=8)``, or
as a YAML list (``["register", {"normalize": {"p_low": 1}}, "nlm"]``); both canonicalise (all
parameters spelled out, defaults filled in, sorted) to the same string and therefore the same
cache key. A pipeline that does not end with a geometry op gets ``resize`` appended.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from bench.errors import MitoError
from bench.workspace import cache_dir, sweep_temp, workspace_dir
from preprocessing.ops import get_op
from preprocessing.pushdown import plan
from preprocessing.params import check_size

SHEET_MOVIES, SHEET_FRAMES = 4, 8  # contact sheet: columns, frames of the short run for old entries

STEP_RE = re.compile(r"^\s*([a-z][a-z0-9_]*)\s*(?:\((.*)\))?\s*$")


def _value(text: str):
    text = text.strip()
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text.strip("'\"")


def _fmt(v) -> str:
    return repr(round(v, 10)) if isinstance(v, float) else str(v)


OP_FLAG = "op_"  # an op-presence flag ``op_<name>`` (study parameter, report column): the one spelling


def op_flag(name: str) -> str:
    """The flag saying whether a pipeline uses op ``name``."""
    return OP_FLAG + name


def flagged_op(key: str) -> str | None:
    """The op an ``op_<name>`` flag is about; ``None`` when ``key`` is not an op flag."""
    return key[len(OP_FLAG):] if key.startswith(OP_FLAG) else None


@dataclass(frozen=True)
class Pipeline:
    steps: tuple  # ((op name, {param: value}), ...) with every parameter resolved

    @classmethod
    def parse(cls, spec) -> "Pipeline":
        """Parse a spec string or a YAML-style list; ``MitoError`` names the bad step."""
        if isinstance(spec, Pipeline):
            return spec
        raw = []
        items = [s for s in spec.split("|")] if isinstance(spec, str) else list(spec)
        for item in items:
            if isinstance(item, dict):
                if len(item) != 1:
                    raise MitoError("pipeline", f"a list step is 'name' or {{name: {{params}}}}: {item!r}")
                (name, params), = item.items()
                raw.append((name, dict(params or {})))
                continue
            m = STEP_RE.match(str(item))
            if not m:
                raise MitoError("pipeline", f"cannot parse step {item!r} (expected name or name(k=v,...))")
            params = {}
            for kv in filter(None, (m.group(2) or "").split(",")):
                if "=" not in kv:
                    raise MitoError("pipeline", f"step {item!r}: parameters are k=v, got {kv!r}")
                k, v = kv.split("=", 1)
                params[k.strip()] = _value(v)
            raw.append((m.group(1), params))
        if not raw:
            raise MitoError("pipeline", "empty pipeline")
        steps = []
        for i, (name, params) in enumerate(raw):
            op = get_op(name)
            if op.geometry and i != len(raw) - 1:
                raise MitoError("pipeline", f"geometry op {name!r} must be the last step")
            steps.append((name, op.resolve(params)))
        if not get_op(steps[-1][0]).geometry:
            steps.append(("resize", get_op("resize").resolve({})))
        return cls(tuple(steps))

    def canonical(self) -> str:
        return "|".join(f"{n}({','.join(f'{k}={_fmt(v)}' for k, v in sorted(p.items()))})"
                        for n, p in self.steps)

    def ops(self) -> list[str]:
        """Op names in order (``["register", "normalize", "nlm", "resize"]``)."""
        return [n for n, _ in self.steps]

    def not_intensity(self) -> list[str]:
        """The steps whose output is no longer an intensity image (``[]``: an intensity pipeline)."""
        return [n for n, p in self.steps if not get_op(n).keeps_intensity(p)]

    def short(self) -> str:
        """Op names only, for labels (``register|normalize|nlm|resize``)."""
        return "|".join(self.ops())

    def key(self, data_hash: str, size: int) -> str:
        versions = [get_op(n).version for n, _ in self.steps]
        blob = json.dumps([data_hash, self.canonical(), versions, int(size)])
        return hashlib.sha256(blob.encode()).hexdigest()[:24]

    def run_movie(self, frames: np.ndarray, size: int, keep_stages: bool = False,
                  pushdown: bool = True):
        """Apply every step to one movie ``(T, Y, X)``.

        Returns ``(x (N, size, size), src (N,), stages)``; ``stages`` lists ``(label, frame 0
        (Y, X))`` after each non-geometry op when ``keep_stages`` (for contact sheets), else
        ``[]``. With ``pushdown`` (same result, less work: ``preprocessing.pushdown``) the local
        ops before the geometry op run on the region it reads, and their stages show that region.
        """
        x, stages = np.asarray(frames, np.float32), []
        body = self.steps[:-1]
        crop = plan(self.steps, x.shape[1:], size) if pushdown and len(x) else None
        if keep_stages and len(x):
            stages.append(("input", x[0].copy()))
        for i, (name, params) in enumerate(body):
            if crop and i == crop.at:
                x = crop.enter(x)
            x = get_op(name)(x, **params)
            if crop and i == len(body) - 1:
                x = crop.leave(x)
            if keep_stages and len(x):
                inside = crop and crop.at <= i < len(body) - 1  # still carries the halo
                stages.append((name, (crop.leave(x[:1]) if inside else x[:1])[0].copy()))
        name, params = self.steps[-1]
        out, src = get_op(name).fn(x, size=size, **params)
        return out, src, stages


@dataclass
class Prepared:
    """A training tensor and where each sample came from."""

    x: np.ndarray           # (N, 1, size, size) float32 in [0, 1]
    movie_ids: np.ndarray   # (N,) str
    frame_index: np.ndarray  # (N,) int: frame within its movie
    key: str
    pipeline: str           # canonical spec
    cache_hit: bool = False
    path: Path | None = None

    def subset(self, mask: np.ndarray) -> "Prepared":
        return Prepared(self.x[mask], self.movie_ids[mask], self.frame_index[mask], self.key,
                        self.pipeline, self.cache_hit, self.path)


def prepare(dataset, spec, size: int, workspace=None, progress: bool = True) -> Prepared:
    """The data set processed by ``spec`` at ``size`` px, from the cache when possible.

    The cache entry (``<workspace>/cache/preprocess/<key>/``) is keyed by the data set hash, the
    canonical spec, every op's version and the size; it is written to a temporary folder and
    renamed, so an interrupted run never leaves a half entry. It holds ``contact.png`` (frame 0
    of the first movies after every op, from this very run), so a cache hit recomputes nothing.
    """
    pipe = Pipeline.parse(spec)
    key = pipe.key(dataset.hash, check_size(size))
    root = cache_dir(workspace_dir(workspace), "preprocess")
    entry = root / key
    if (entry / "meta.json").is_file():
        meta = json.loads((entry / "meta.json").read_text())
        if not (entry / SHEET).is_file():  # an entry written before sheets were stored with it
            _write_sheet(_short_run_columns(dataset, pipe, size), pipe, size, entry / SHEET)
        return Prepared(np.load(entry / "x.npy"), np.asarray(meta["movie_ids"]),
                        np.asarray(meta["frame_index"]), key, meta["pipeline"], True, entry)
    xs, ids, idx, columns = [], [], [], []
    for movie_id, frames in tqdm(dataset.iter_movies(), total=len(dataset.movies), unit="movie",
                                 desc=f"preprocess {pipe.short()}", disable=not progress):
        out, src, stages = pipe.run_movie(frames, size, keep_stages=len(columns) < SHEET_MOVIES)
        if stages:
            columns.append(_column(stages, out, size))
        xs.append(out)
        ids += [movie_id] * len(out)
        idx.append(src)
    # reshape, not [:, None]: the new axis must get the strides np.load gives it, or torch sees
    # a differently strided tensor, may pick another conv kernel, and weights differ by cache state
    x = (np.concatenate(xs).astype(np.float32, copy=False).reshape(-1, 1, size, size) if xs
         else np.zeros((0, 1, size, size), np.float32))
    if len(x) == 0:
        raise MitoError(dataset.name, f"pipeline {pipe.canonical()} produced no samples")
    sweep_temp(root)  # entries half-written by killed processes
    tmp = root / f".tmp-{key}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    meta = {"dataset": dataset.name, "data_hash": dataset.hash, "pipeline": pipe.canonical(),
            "size": size, "movie_ids": ids, "frame_index": np.concatenate(idx).tolist()}
    try:
        tmp.mkdir(parents=True)
        np.save(tmp / "x.npy", x)
        (tmp / "meta.json").write_text(json.dumps(meta))
        _write_sheet(columns, pipe, size, tmp / SHEET)
        tmp.rename(entry)
    except OSError:  # a full disk, or another process wrote the same entry first (identical)
        shutil.rmtree(tmp, ignore_errors=True)
        if not (entry / "meta.json").is_file():
            raise
    return Prepared(x, np.asarray(ids), np.asarray(meta["frame_index"]), key, pipe.canonical(),
                    False, entry)


SHEET = "contact.png"


def _column(stages, out: np.ndarray, size: int) -> list[np.ndarray]:
    """One contact-sheet column: frame 0 after every op, then the first training sample."""
    return [f for _, f in stages] + [out[0] if len(out) else np.zeros((size, size), np.float32)]


def _short_run_columns(dataset, pipe: Pipeline, size: int) -> list[list[np.ndarray]]:
    columns = []
    for _, frames in list(dataset.iter_movies())[:SHEET_MOVIES]:
        out, _, stages = pipe.run_movie(np.asarray(frames[:SHEET_FRAMES]), size, keep_stages=True)
        columns.append(_column(stages, out, size))
    return columns


def _write_sheet(columns, pipe: Pipeline, size: int, path: Path) -> Path:
    from preprocessing.contact import pipeline_sheet
    return pipeline_sheet(columns, pipe, size, path)


def prepare_split(dataset, spec, size: int, workspace=None, heldout_fraction: float = 0.25,
                  seed: int = 0, progress: bool = True) -> tuple[Prepared, Prepared]:
    """``prepare`` then split by movie (``Dataset.split``): ``(train, heldout)``."""
    prep = prepare(dataset, spec, size, workspace, progress)
    is_held = heldout_mask(dataset, prep, heldout_fraction, seed)
    return prep.subset(~is_held), prep.subset(is_held)


def heldout_mask(dataset, prep: Prepared, heldout_fraction: float = 0.25, seed: int = 0) -> np.ndarray:
    """``(N,)`` bool: frame of ``prep`` from a movie ``Dataset.split`` holds out, splitting only
    the movies that have frames in ``prep``."""
    _, held = dataset.split(heldout_fraction, seed, among=np.unique(prep.movie_ids))
    return np.isin(prep.movie_ids, held)
