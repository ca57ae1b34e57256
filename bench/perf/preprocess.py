"""Preprocessing speed on a real-size movie, in process and as the whole command a user runs.

    python -m bench.perf.preprocess [--frames 40] [--rounds 3]

Movie: the first ``--frames`` frames of the real HeLa GIF (1080×385, ``../shared/data``), or a
synthetic movie of the same size when that folder is absent. Pipeline
``register|normalize|nlm|laplacian`` to 64 px.

Baseline (same run, same frames): that pipeline written with scikit-image, as a user would
(``phase_cross_correlation`` + ``scipy.ndimage.shift``, numpy percentiles, ``denoise_nl_means``
with the same patch/search sizes, ``filters.laplace``, centre crop + ``transform.resize``).
Prints, each a median over ``--rounds``:

- a per-op profile of the mitogan pipeline (seconds and share), so the next slow op is visible;
- in process: mitogan vs scikit-image (target ≥ 3×), and mitogan without the region push-down;
- whole command, interpreter start included: ``mitogan preprocess`` on a cold cache vs
  ``python -m bench.perf.preprocess --skimage-run`` (the baseline as a script; target ≥ 3×), and
  ``mitogan preprocess`` on a cache hit (target < 1.5 s).
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.perf.cli import mitogan_exe

PIPELINE = "register|normalize|nlm|laplacian"
SIZE = 64
HELA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "hela-mitotracker-movie"


def skimage_pipeline(frames: np.ndarray, size: int = SIZE) -> np.ndarray:
    """``(T, Y, X)`` float32 in [0, 1] → ``(T, size, size)``: the baseline."""
    from scipy import ndimage
    from skimage import filters, registration, restoration, transform
    out = []
    for f in frames:
        shift = registration.phase_cross_correlation(frames[0], f, upsample_factor=20)[0]
        out.append(ndimage.shift(f, shift, order=3, mode="nearest"))
    x = np.stack(out)
    lo, hi = np.percentile(x[:, ::2, ::2], [1, 99.8])
    x = np.clip((x - lo) / (hi - lo), 0, 1)
    x = np.stack([restoration.denoise_nl_means(f, patch_size=7, patch_distance=10, h=8 / 255,
                                               fast_mode=True) for f in x])
    x = np.clip(np.abs(np.stack([filters.laplace(filters.gaussian(f, 1.0)) for f in x])), 0, 1)
    s = min(x.shape[1:])
    y0, x0 = (x.shape[1] - s) // 2, (x.shape[2] - s) // 2
    return np.stack([transform.resize(f[y0:y0 + s, x0:x0 + s], (size, size), anti_aliasing=True)
                     for f in x]).astype(np.float32)


def movie_file(ws: Path, n: int) -> tuple[Path, str]:
    """A movie file to import and its description: the HeLa GIF's first ``n`` frames, else a
    synthetic 1080×385 uint8 stack."""
    gif = HELA / "Movie28_Actin_inhibitors.gif"
    if gif.is_file():
        return gif, f"real HeLa movie {gif.name}, first {n} frames"
    import tifffile

    from bench.perf.movies import synthetic_movie
    frames = (synthetic_movie(n, (385, 1080)) * 255).astype(np.uint8)
    path = ws / "synthetic.tif"
    tifffile.imwrite(path, frames, photometric="minisblack")
    return path, f"synthetic 1080x385 movie, {n} frames ({HELA} absent)"


def median_time(fn, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def profile(pipe, frames: np.ndarray, rounds: int) -> list[tuple[str, float]]:
    """Seconds per op of ``pipe`` on ``frames`` (with the push-down, as the pipeline runs them)."""
    from preprocessing.ops import get_op
    from preprocessing.pushdown import plan
    crop = plan(pipe.steps, frames.shape[1:], SIZE)
    out = []
    x = np.asarray(frames, np.float32)
    body = pipe.steps[:-1]
    for i, (name, params) in enumerate(body):
        if crop and i == crop.at:
            x = crop.enter(x)
        src = x
        out.append((name + (" (crop)" if crop and i >= crop.at else ""),
                    median_time(lambda: get_op(name)(src, **params), rounds)))
        x = get_op(name)(src, **params)
    if crop:
        x = crop.leave(x)
    name, params = pipe.steps[-1]
    out.append((name, median_time(lambda: get_op(name)(x, size=SIZE, **params), rounds)))
    return out


def whole(cmd: list[str], rounds: int, before=None) -> float:
    def once():
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    times = []
    for _ in range(rounds):
        if before:
            before()
        t0 = time.perf_counter()
        once()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--frames", type=int, default=40)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--skimage-run", nargs=2, metavar=("MOVIE_NPY", "OUT_NPY"),
                    help="(the baseline as a whole command) run the scikit-image pipeline, save")
    args = ap.parse_args(argv)
    if args.skimage_run:
        np.save(args.skimage_run[1], skimage_pipeline(np.load(args.skimage_run[0])))
        return
    from preprocessing.dataset import Dataset
    from preprocessing.ingest import import_dataset
    from preprocessing.pipeline import Pipeline
    with tempfile.TemporaryDirectory(prefix="mitogan-perf-") as tmp:
        ws = Path(tmp)
        path, what = movie_file(ws, args.frames)
        import_dataset([str(path)], "perf", ws, frames=f"0:{args.frames}", progress=False)
        ds = Dataset.load("perf", ws)
        frames = np.asarray(ds.frames(ds.movie_ids[0]))
        n = len(frames)
        pipe = Pipeline.parse(PIPELINE)
        print(f"{what}: {n} frames of {frames.shape[2]}x{frames.shape[1]} px, {PIPELINE} to {SIZE} px; "
              f"medians of {args.rounds} rounds")

        ops = profile(pipe, frames, args.rounds)
        total = sum(t for _, t in ops)
        print("per-op profile (mitogan, in process):")
        for name, t in sorted(ops, key=lambda o: -o[1]):
            print(f"  {name:18s} {t:7.3f} s  {100 * t / total:5.1f}%  {n / t:8.1f} frames/s")

        ours = median_time(lambda: pipe.run_movie(frames, SIZE), args.rounds)
        plain = median_time(lambda: pipe.run_movie(frames, SIZE, pushdown=False), args.rounds)
        base = median_time(lambda: skimage_pipeline(frames), 1)
        print(f"in process: mitogan {ours:.2f} s ({plain:.2f} s without the region push-down), "
              f"scikit-image {base:.2f} s → {base / ours:.1f}x (target ≥ 3x; "
              f"{base / plain:.1f}x without push-down)")

        movie_npy = ws / "movie.npy"
        np.save(movie_npy, frames)
        env_ws = ["--workspace", str(ws)]
        cmd = mitogan_exe() + env_ws + ["preprocess", "--dataset", "perf", "--pipeline", PIPELINE,
                                        "--size", str(SIZE)]
        cache = ws / "cache"
        cold = whole(cmd, args.rounds, before=lambda: shutil.rmtree(cache, ignore_errors=True))
        hit = whole(cmd, args.rounds)
        sk = whole([sys.executable, "-m", "bench.perf.preprocess", "--skimage-run", str(movie_npy),
                    str(ws / "sk.npy")], 1)
        print(f"whole command: `mitogan preprocess` {cold:.2f} s vs scikit-image script {sk:.2f} s "
              f"→ {sk / cold:.1f}x (target ≥ 3x); cache hit {hit:.2f} s (target < 1.5 s)")


if __name__ == "__main__":
    main()
