"""Preprocessing speed: each op and the full pipeline on 512×512 frames, against scikit-image.

    python -m bench.perf.preprocess [--frames 16] [--size 512]

Baseline (same run, same frames): the pipeline register|normalize|nlm|laplacian written with
scikit-image (``phase_cross_correlation`` + ``scipy.ndimage.shift``, numpy percentiles,
``denoise_nl_means`` with the same patch/search sizes, ``filters.laplace``). Target ≥ 3×.
Also: a cache hit of ``prepare`` against recomputing it (target ≥ 100×).
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np
import tifffile
from scipy import ndimage
from skimage import filters, registration, restoration

from preprocessing.ops import get_op, list_ops
from preprocessing.pipeline import Pipeline, prepare

PIPELINE = "register|normalize|nlm|laplacian"


def synthetic_movie(n: int, size: int, seed: int = 0) -> np.ndarray:
    """(T, Y, X) float32 in [0, 1]: blurred random tubes, drifting, with noise."""
    import cv2
    rng = np.random.default_rng(seed)
    base = np.zeros((size, size), np.float32)
    for _ in range(size // 8):
        pts = np.cumsum(rng.normal(0, 8, (10, 2)), 0) + rng.uniform(0, size, 2)
        cv2.polylines(base, [pts.astype(np.int32)], False, 0.8, 3)
    base = cv2.GaussianBlur(base, (0, 0), 1.5)
    drift = np.cumsum(rng.normal(0, 0.5, (n, 2)), 0)
    frames = np.stack([ndimage.shift(base, d, order=1, mode="nearest") for d in drift])
    return np.clip(frames + 0.05 + rng.normal(0, 0.04, frames.shape), 0, 1).astype(np.float32)


def skimage_pipeline(frames: np.ndarray) -> np.ndarray:
    out = []
    for f in frames:
        shift = registration.phase_cross_correlation(frames[0], f, upsample_factor=20)[0]
        out.append(ndimage.shift(f, shift, order=3, mode="nearest"))
    x = np.stack(out)
    lo, hi = np.percentile(x[:, ::2, ::2], [1, 99.8])
    x = np.clip((x - lo) / (hi - lo), 0, 1)
    x = np.stack([restoration.denoise_nl_means(f, patch_size=7, patch_distance=10, h=8 / 255,
                                               fast_mode=True) for f in x])
    return np.clip(np.abs(np.stack([filters.laplace(filters.gaussian(f, 1.0)) for f in x])), 0, 1)


def timed(fn, *args, repeat=1):
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t0)
    return best


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--size", type=int, default=512)
    args = ap.parse_args(argv)
    frames = synthetic_movie(args.frames, args.size)
    n = len(frames)
    print(f"{n} frames of {args.size}x{args.size} px (frames/s, best of 2)")
    for name in list_ops():
        op = get_op(name)
        sec = timed((lambda f: op(f, size=64)) if op.geometry else op, frames, repeat=2)
        print(f"  op {name:10s} {n / sec:9.1f} frames/s")
    pipe = Pipeline.parse(PIPELINE)
    ours = timed(lambda f: pipe.run_movie(f, 64), frames, repeat=2)
    base = timed(skimage_pipeline, frames)
    print(f"pipeline {PIPELINE}: mitogan {n / ours:.1f} frames/s, scikit-image {n / base:.2f} frames/s"
          f" → ratio {base / ours:.1f}x (target ≥ 3x)")

    with tempfile.TemporaryDirectory() as ws:
        from preprocessing.ingest import import_dataset
        path = f"{ws}/movie.tif"
        tifffile.imwrite(path, (frames * 65535).astype(np.uint16), photometric="minisblack")
        ds = import_dataset([path], "bench", ws, progress=False)
        cold = timed(lambda: prepare(ds, PIPELINE, 64, ws, progress=False))
        hot = timed(lambda: prepare(ds, PIPELINE, 64, ws, progress=False), repeat=3)
        print(f"prepare: recompute {cold:.2f} s, cache hit {hot * 1000:.1f} ms → ratio "
              f"{cold / hot:.0f}x (target ≥ 100x)")


if __name__ == "__main__":
    main()
