"""How well the bead rule of :mod:`analysis.pixel_geometry` counts simulated pearls.

    python -m bench.bead_rule [--movies 16] [--frames 8] [--size 96] [--seed 0]

Simulates movies of the four classes, scales each movie to [0, 1] by its 0.1 / 99.9 percentiles,
measures ``bead_count`` with :func:`analysis.morphology.morphology_table` and compares it with
the ground-truth pearls (8-connected components of the simulator's ``beads`` mask) per frame:
mean detected beads on frames with and without true pearls, and their Pearson correlation.
"""
from __future__ import annotations

import argparse

import numpy as np
from tqdm import tqdm

from analysis.morphology import morphology_table
from analysis.pixel_geometry import label8
from preprocessing.simulator import SimParams, allocate_classes
from preprocessing.simulator.core import simulate_movie


def detected_and_true(movies: int, frames: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(F,) detected bead counts and (F,) true pearl counts over every simulated frame."""
    detected, true = [], []
    with tqdm(total=movies * frames, desc="simulate", unit="frame") as bar:
        for i, cls in enumerate(allocate_classes(None, movies, seed)):
            stack, gt, _ = simulate_movie(cls, SimParams(), frames, (size, size), seed, i, bar)
            stack = stack.astype(np.float32)  # (T, Y, X) camera counts
            lo, hi = np.percentile(stack, [0.1, 99.9])
            detected += morphology_table(np.clip((stack - lo) / (hi - lo), 0, 1))["bead_count"].tolist()
            true += [label8(np.pad(b, 1))[1] for b in gt["beads"]]
    return np.array(detected), np.array(true)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--movies", type=int, default=16)
    ap.add_argument("--frames", type=int, default=8)
    ap.add_argument("--size", type=int, default=96)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    detected, true = detected_and_true(args.movies, args.frames, args.size, args.seed)
    pearled = true > 0
    print(f"{len(true)} frames ({pearled.sum()} with true pearls, {true.sum()} pearls in all)")
    print(f"mean beads detected: {detected[pearled].mean():.2f} on frames with pearls, "
          f"{detected[~pearled].mean():.2f} on frames without")
    print(f"correlation with the true count: {np.corrcoef(detected, true)[0, 1]:.2f}")


if __name__ == "__main__":
    main()
