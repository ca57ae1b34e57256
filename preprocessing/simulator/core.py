"""``simulate``: movies of one morphology class each, written as uint16 TIFF stacks + ground truth."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import tifffile
from tqdm import tqdm

from bench.errors import MitoError
from bench.workspace import atomic_write
from preprocessing.simulator.dynamics import Movie
from preprocessing.simulator.geometry import get_class, list_classes
from preprocessing.simulator.params import PEARL_SPACING_FACTOR, SimParams
from preprocessing.simulator.render import Renderer, camera

GT_FORMAT = "mitogan-sim-gt/1"
GT_ARRAYS = ("clean", "mask", "skeleton", "branch_points", "tips", "beads", "structure_labels")


def allocate_classes(classes: dict[str, float] | None, movies: int, seed: int) -> list[str]:
    """One class per movie, in proportions ``classes`` (largest remainder), order shuffled by seed."""
    classes = classes or {name: 1.0 for name in list_classes()}
    for name, share in classes.items():
        get_class(name)  # refuses unknown names
        if not (share >= 0 and math.isfinite(share)):
            raise MitoError("--classes", f"share of {name!r} must be a finite number >= 0, got {share}")
    total = sum(classes.values())
    if total <= 0:
        raise MitoError("--classes", "class shares must not all be 0")
    quotas = {n: movies * s / total for n, s in classes.items()}
    counts = {n: int(math.floor(q)) for n, q in quotas.items()}
    by_remainder = sorted(quotas, key=lambda n: -(quotas[n] - counts[n]))  # stable: ties keep order
    for n in by_remainder[:movies - sum(counts.values())]:
        counts[n] += 1
    labels = [n for n in classes for _ in range(counts[n])]
    return [labels[i] for i in np.random.default_rng(seed).permutation(movies)]


def drift_track(p: SimParams, frames: int, rng: np.random.Generator) -> np.ndarray:
    """Stage drift (T, 2) ``(dy, dx)`` px of frame t relative to frame 0: steady trend + random walk."""
    dt = p.frame_interval_s
    angle = rng.uniform(0, 2 * math.pi)
    trend = p.drift_trend_um_per_s * dt * np.array([math.sin(angle), math.cos(angle)])
    steps = trend + rng.normal(0, p.drift_um_per_s * dt, (frames, 2))
    steps[0] = 0.0
    return np.cumsum(steps, axis=0) / p.pixel_size_um


def _savez(path: Path, arrays: dict) -> None:
    with open(path, "wb") as fh:  # a file object: np.savez would append ".npz" to the temp name
        np.savez_compressed(fh, **arrays)


def simulate_movie(cls: str, p: SimParams, frames: int, size_yx, seed: int, index: int, progress=None):
    """Simulate one movie; returns (uint16 (T, Y, X) stack, dict of GT arrays, GT json dict)."""
    geo_seed, drift_seed, noise_seed = np.random.SeedSequence([seed, index]).spawn(3)
    rng = np.random.default_rng(geo_seed)
    fov_um = (size_yx[0] * p.pixel_size_um, size_yx[1] * p.pixel_size_um)
    duration_s = frames * p.frame_interval_s
    movie = Movie(get_class(cls)(rng, p, fov_um, duration_s), p, rng, fov_um)
    drift = drift_track(p, frames, np.random.default_rng(drift_seed))
    noise_rng = np.random.default_rng(noise_seed)
    renderer = Renderer(p, size_yx)
    stack = np.empty((frames, *size_yx), np.uint16)
    gt = {k: [] for k in GT_ARRAYS}
    for t in range(frames):
        if t:
            movie.step()
        truth = renderer.frame(movie.branches, movie.time_s, drift[t])
        truth["clean"] *= np.float32(math.exp(-movie.time_s / p.bleach_tau_s))  # photobleaching
        stack[t] = camera(truth["clean"], p, noise_rng)
        for k in GT_ARRAYS:
            gt[k].append(truth[k])
        if progress is not None:
            progress.update(1)
    arrays = {k: np.stack(v) for k, v in gt.items()}
    for ev in movie.events:  # event positions in frame pixels, drift included
        dy, dx = drift[ev["t"]]
        ev["xy"] = [ev["xy_um"][0] / p.pixel_size_um + dx, ev["xy_um"][1] / p.pixel_size_um + dy]
    pearled = {b.sid for b in movie.branches if b.pearl is not None}
    structures = {str(sid): {"class": ("pearled" if sid in pearled else "tubular") if cls == "pearled" else cls,
                             "born_t": info["t"], "parent": info["parent"]}
                  for sid, info in sorted(movie.born.items())}
    meta = {"format": GT_FORMAT, "class": cls, "seed": seed, "movie_index": index, "frames": frames,
            "size_yx": list(size_yx), "pixel_size_um": p.pixel_size_um, "frame_interval_s": p.frame_interval_s,
            "pearl_spacing_factor": PEARL_SPACING_FACTOR, "structures": structures, "events": movie.events,
            "drift_px": np.round(drift, 6).tolist(), "params": p.model_dump(mode="json")}
    return stack, arrays, meta


def simulate(out_dir, *, movies: int, frames: int, size_yx, seed: int,
             classes: dict[str, float] | None = None, params: SimParams | dict | None = None,
             progress: bool = True) -> list[Path]:
    """Simulate ``movies`` movies into ``out_dir``; returns the TIFF paths.

    Writes ``movie_XXX.tif`` (uint16 TYX, ImageJ metadata with the pixel size in µm and frame
    interval in s) and beside it ``movie_XXX.gt.npz`` / ``movie_XXX.gt.json`` (format in the
    package docstring). Same arguments → identical bytes.
    """
    p = params if isinstance(params, SimParams) else SimParams.from_overrides(params)
    size_yx = tuple(int(v) for v in size_yx)
    if movies < 1 or frames < 1 or len(size_yx) != 2 or min(size_yx) < 16:
        raise MitoError("simulate", f"need movies >= 1, frames >= 1 and a size >= 16x16 px, got "
                        f"{movies} movies, {frames} frames, size {size_yx}")
    out = Path(out_dir).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    labels = allocate_classes(classes, movies, seed)
    paths = []
    with tqdm(total=movies * frames, desc="simulate", unit="frame", disable=not progress) as bar:
        for i, cls in enumerate(labels):
            stack, arrays, meta = simulate_movie(cls, p, frames, size_yx, seed, i, bar)
            tif = out / f"movie_{i:03d}.tif"
            gt_json, gt_npz = gt_paths(tif)
            meta["arrays"] = gt_npz.name
            atomic_write(gt_npz, lambda f: _savez(f, arrays))
            atomic_write(gt_json, lambda f: f.write_text(json.dumps(meta, indent=1)))
            atomic_write(tif, lambda f: tifffile.imwrite(
                f, stack, imagej=True, resolution=(1 / p.pixel_size_um, 1 / p.pixel_size_um),
                metadata={"axes": "TYX", "unit": "um", "finterval": p.frame_interval_s}))
            paths.append(tif)
    return paths


def gt_paths(tif_path) -> tuple[Path, Path]:
    """The ground-truth files beside ``movie_XXX.tif``: ``movie_XXX.gt.json``, ``movie_XXX.gt.npz``."""
    tif = Path(tif_path)
    return tif.with_suffix(".gt.json"), tif.with_suffix(".gt.npz")


def load_ground_truth(tif_path) -> tuple[dict[str, np.ndarray], dict]:
    """Ground truth written beside ``movie_XXX.tif``: (arrays dict, json dict)."""
    meta_path = gt_paths(tif_path)[0]
    if not meta_path.is_file():
        raise MitoError(meta_path, "no simulator ground truth beside this movie")
    meta = json.loads(meta_path.read_text())
    with np.load(meta_path.with_name(meta["arrays"])) as z:
        return {k: z[k] for k in z.files}, meta
