"""``mitogan data import``: movies, stacks and image folders → a data set (see ``dataset.py``).

Intensity mapping (one per data set, never per frame, so generated and real frames share it):

* ``auto``: 8-bit sources map [0, 255] → [0, 1]; anything else maps the data set's minimum and
  maximum (over every imported ROI) → [0, 1].
* ``pLOW,pHIGH`` (e.g. ``p0.1,p99.9``): the data set's percentiles, estimated from every 4th
  pixel in y and x of every plane; values outside are clipped.
* ``LOW,HIGH`` (e.g. ``100,4000``): fixed source values; values outside are clipped.

Everything is written to a temporary folder and renamed into place at the end, so a failure or
Ctrl-C leaves no data set behind (and ``--overwrite`` loses the old one only once the new one is
complete).
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
from bench.workspace import datasets_dir, reserve, sweep_temp, workspace_dir
from preprocessing.dataset import FORMAT_VERSION, MANIFEST, Dataset
from preprocessing.readers import Reader, open_readers
from preprocessing.physical import dataset_units, set_units

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NPY_HEADER_BYTES = 256  # reserved so the header can be written once T is known


@dataclass(frozen=True)
class IntensityRange:
    mode: str  # "auto" | "percentile" | "absolute"
    low: float | None = None
    high: float | None = None

    @classmethod
    def parse(cls, text: str) -> "IntensityRange":
        if text == "auto":
            return cls("auto")
        parts = text.split(",")
        try:
            pct = all(p.strip().startswith("p") for p in parts)
            low, high = (float(p.strip().lstrip("p")) for p in parts)
        except ValueError:
            raise MitoError("--intensity-range", f"expected auto, pLOW,pHIGH or LOW,HIGH, got {text!r}")
        if not low < high or (pct and not 0 <= low < high <= 100):
            raise MitoError("--intensity-range", f"need LOW < HIGH (percentiles in 0..100): {text!r}")
        return cls("percentile" if pct else "absolute", low, high)


def parse_roi(text: str) -> tuple[int, int, int, int]:
    try:
        x0, y0, x1, y1 = (int(v) for v in text.split(","))
    except ValueError:
        raise MitoError("--roi", f"expected x0,y0,x1,y1 in pixels, got {text!r}")
    return x0, y0, x1, y1


def parse_frames(text: str | None) -> slice | None:
    if not text:
        return None
    try:
        parts = text.split(":")
        if not 2 <= len(parts) <= 3 or (len(parts) == 3 and parts[2] and int(parts[2]) < 1):
            raise ValueError
        return slice(*(int(p) if p else None for p in parts))
    except ValueError:
        raise MitoError("--frames", f"expected a:b or a:b:step (python slice, step >= 1), got {text!r}")


def _check_finite(plane: np.ndarray, reader: Reader, t: int):
    if plane.dtype.kind == "f" and not np.isfinite(plane).all():
        raise MitoError(reader.path, f"frame {t} contains NaN or Inf values")


def _crops(plane, rois):
    return [plane if r is None else plane[r[1]:r[3], r[0]:r[2]] for r in rois]


def _intensity_bounds(readers, rois, spec: IntensityRange, progress=True) -> tuple[float, float]:
    if spec.mode == "absolute":
        return spec.low, spec.high
    if spec.mode == "auto" and all(r.dtype == np.uint8 for r in readers):
        return 0.0, 255.0
    lo, hi, samples = np.inf, -np.inf, []
    for reader in readers:
        for t, _, plane in tqdm(reader.frames(), desc=f"stats {reader.path.name}",
                                  leave=False, disable=not progress):
            _check_finite(plane, reader, t)
            for crop in _crops(plane, rois):
                if spec.mode == "auto":
                    lo, hi = min(lo, float(crop.min())), max(hi, float(crop.max()))
                else:
                    samples.append(crop[::4, ::4].ravel().astype(np.float32))
    if spec.mode == "percentile":
        lo, hi = (float(v) for v in np.percentile(np.concatenate(samples), [spec.low, spec.high]))
    return lo, (hi if hi > lo else lo + 1.0)  # a constant movie maps to 0, not NaN


class _NpyWriter:
    """Appends (Y, X) float32 frames to a .npy whose header is written when the count is known."""

    def __init__(self, path: Path, shape_yx):
        self.path, self.shape_yx, self.n = path, shape_yx, 0
        self.fh = open(path, "wb")
        self.fh.write(b"\0" * NPY_HEADER_BYTES)
        self.digest = hashlib.sha256()

    def append(self, frame: np.ndarray):
        data = np.ascontiguousarray(frame, dtype="<f4").tobytes()
        self.fh.write(data)
        self.digest.update(data)
        self.n += 1

    def close(self):
        header = repr({"descr": "<f4", "fortran_order": False, "shape": (self.n, *self.shape_yx)})
        header = header.ljust(NPY_HEADER_BYTES - 10 - 1) + "\n"
        self.fh.seek(0)
        self.fh.write(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("latin1"))
        self.fh.close()


def import_dataset(paths, name: str, workspace=None, *, rois=None, channel=None, z="max",
                   frames=None, intensity_range="auto", overwrite=False, movie_meta=None,
                   progress=True, pixel_size_um=None, frame_interval_s=None) -> Dataset:
    """Import movies (one per path; each ROI a separate movie) as data set ``name``.

    Parameters
    ----------
    paths : list of str or Path
        TIFF/OME-TIFF stacks, GIF, AVI/MP4, or folders of PNG/TIFF frames.
    rois : list of (x0, y0, x1, y1) or list of str, optional
        Crops in source pixels (x1, y1 exclusive), applied to every path.
    channel : int, optional
        Channel to keep; RGB without it becomes luminance.
    z : {"max", "mean", "slices"}
        z-stacks become a projection per time point, or one frame per z slice.
    frames : str or slice, optional
        Time points to keep, ``"a:b"`` or ``"a:b:step"``; a step multiplies the frame interval.
    intensity_range : str
        ``auto``, ``pLOW,pHIGH`` or ``LOW,HIGH`` (see module docstring).
    movie_meta : list of dict, optional
        One dict per path, stored as each of its movies' ``meta``.
    pixel_size_um, frame_interval_s : float, optional
        Physical units for every movie, beating the files' own metadata (``physical.py``).

    Returns
    -------
    Dataset
        The new data set; frames are float32 in [0, 1], axes TYX per movie.
    """
    if not NAME_RE.match(name):
        raise MitoError(name, "data set names use letters, digits, '.', '_' and '-'")
    if not paths:
        raise MitoError(name, "no input paths given")
    if z not in ("max", "mean", "slices"):
        raise MitoError("--z", f"expected slices, max or mean, got {z!r}")
    root = datasets_dir(workspace_dir(workspace))
    root.mkdir(parents=True, exist_ok=True)
    sweep_temp(root)  # leftovers of imports that were killed
    # one import of a name at a time: two would both succeed, the last silently replacing the first
    with reserve(root / f".lock-{name}", f"data set {name}"):
        return _import(root, name, paths, workspace, rois, channel, z, frames, intensity_range,
                       overwrite, movie_meta, progress, pixel_size_um, frame_interval_s)


def _import(root: Path, name, paths, workspace, rois, channel, z, frames, intensity_range,
            overwrite, movie_meta, progress, pixel_size_um, frame_interval_s) -> Dataset:
    final = root / name
    if final.exists() and not overwrite:
        raise MitoError(final, "data set already exists (use --overwrite to replace it)")
    rois = [parse_roi(r) if isinstance(r, str) else tuple(r) for r in (rois or [])] or [None]
    frame_slice = parse_frames(frames) if isinstance(frames, (str, type(None))) else frames
    spec = IntensityRange.parse(intensity_range) if isinstance(intensity_range, str) else intensity_range
    if movie_meta is not None and len(movie_meta) != len(paths):
        raise MitoError(name, f"movie_meta has {len(movie_meta)} entries for {len(paths)} paths")
    opened = [(i, r) for i, p in enumerate(paths)  # a multi-series / multi-scene file: several movies
              for r in open_readers(Path(p).expanduser().resolve(), channel=channel, z=z, frames=frame_slice)]
    readers = [r for _, r in opened]
    movie_meta = [movie_meta[i] for i, _ in opened] if movie_meta is not None else None
    set_units(readers, pixel_size_um, frame_interval_s)
    for reader in readers:  # seconds between the frames kept: a --frames step spaces them out
        if reader.frame_interval_s is not None and frame_slice is not None and frame_slice.step:
            reader.frame_interval_s *= frame_slice.step
    for reader in readers:
        for roi in rois:
            if roi is not None:
                x0, y0, x1, y1 = roi
                if not (0 <= x0 < x1 <= reader.shape[1] and 0 <= y0 < y1 <= reader.shape[0]):
                    raise MitoError(reader.path, f"ROI {x0},{y0},{x1},{y1} is outside the frame "
                                    f"({reader.shape[1]}x{reader.shape[0]} px) or empty")

    tmp = root / f".tmp-{name}-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "movies").mkdir(parents=True)
    try:
        lo, hi = _intensity_bounds(readers, rois, spec, progress)
        manifest = _write_movies(readers, rois, (lo, hi), tmp, movie_meta, progress)
        manifest.update(name=name, version=FORMAT_VERSION, z=z, channel=channel, **dataset_units(readers),
                        intensity={"spec": intensity_range if isinstance(intensity_range, str)
                                   else spec.mode, "low": lo, "high": hi})
        (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))
        trash = root / f".trash-{name}-{os.getpid()}"
        if final.exists():
            final.rename(trash)
        tmp.rename(final)
        shutil.rmtree(trash, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for reader in readers:
        for notice in sorted(reader.notices):
            print(f"note: {notice}")
    return Dataset.load(name, workspace)


def _movie_ids(readers, rois) -> list[list[str]]:
    ids, seen = [], set()
    for reader in readers:
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", reader.path.stem.split(".")[0]) or "movie"
        stem += f"_{reader.label}" if reader.label else ""  # series / scene of a multi-movie file
        row = []
        for k in range(len(rois)):
            base = stem if len(rois) == 1 else f"{stem}_roi{k}"
            mid, n = base, 1
            while mid in seen:
                n += 1
                mid = f"{base}_{n}"
            seen.add(mid)
            row.append(mid)
        ids.append(row)
    return ids


def _write_movies(readers, rois, bounds, tmp: Path, movie_meta, progress) -> dict:
    lo, hi = bounds
    movies, frames, digest = [], [], hashlib.sha256()
    for r_i, (reader, ids) in enumerate(zip(readers, _movie_ids(readers, rois))):
        shapes = [(reader.shape if r is None else (r[3] - r[1], r[2] - r[0])) for r in rois]
        writers = [_NpyWriter(tmp / "movies" / f"{mid}.npy", s) for mid, s in zip(ids, shapes)]
        for t, z_i, plane in tqdm(reader.frames(), desc=f"import {reader.path.name}",
                                  disable=not progress, unit="frame"):
            _check_finite(plane, reader, t)
            for writer, mid, crop, roi in zip(writers, ids, _crops(plane, rois), rois):
                writer.append(np.clip((crop.astype(np.float32) - lo) / (hi - lo), 0.0, 1.0))
                frames.append({"movie_id": mid, "source": str(reader.path), "frame_index": t,
                               "z_index": z_i, "roi": list(roi) if roi else None})
        for writer, mid, roi in zip(writers, ids, rois):
            writer.close()
            digest.update(mid.encode() + writer.digest.digest())
            movies.append({"id": mid, "source": str(reader.path), "roi": list(roi) if roi else None,
                           "channel": reader.channel, "z": reader.z, "n_frames": writer.n,
                           "shape": list(writer.shape_yx), "source_dtype": str(reader.dtype),
                           "pixel_size_um": reader.pixel_size_um,
                           "frame_interval_s": reader.frame_interval_s,
                           "meta": dict(movie_meta[r_i]) if movie_meta else {}})
    return {"hash": digest.hexdigest(), "movies": movies, "frames": frames}
