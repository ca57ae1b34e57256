"""Simulator speed: 4 movies x 100 frames of 256x256 px with ground truth, written to disk.

    python -m bench.perf.simulate [--movies 4] [--frames 100] [--size 256]

Target: < 60 s on 2 cores (the figure printed is seconds; ratio = time / 60 s, < 1 meets it).
Also prints the split between simulation+rendering and writing files, measured in the same run.
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time

from preprocessing.simulator import simulate
from preprocessing.simulator.core import simulate_movie
from preprocessing.simulator.params import SimParams

TARGET_S = 60.0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--movies", type=int, default=4)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--size", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    size = (args.size, args.size)
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        simulate(tmp, movies=args.movies, frames=args.frames, size_yx=size, seed=args.seed, progress=False)
        total = time.perf_counter() - t0
        written = sum(os.path.getsize(os.path.join(tmp, f)) for f in os.listdir(tmp))
    t0 = time.perf_counter()  # in-memory part only (no files), one tubular movie, for the split
    simulate_movie("tubular", SimParams(), args.frames, size, args.seed, 0)
    one = time.perf_counter() - t0
    frames = args.movies * args.frames
    print(f"simulate {args.movies} movies x {args.frames} frames of {args.size}^2 px "
          f"(cpus: {os.cpu_count()}): {total:.1f} s ({1e3 * total / frames:.1f} ms/frame, "
          f"{written / 2**20:.0f} MiB written)")
    print(f"  one tubular movie without writing: {one:.1f} s")
    print(f"ratio to the {TARGET_S:.0f} s target: {total / TARGET_S:.2f} "
          f"({'meets' if total < TARGET_S else 'MISSES'} the target)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
