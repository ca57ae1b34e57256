"""Peak memory and throughput of ``analysis.export`` streaming frames to disk.

    python -m bench.perf.generate [--n 30000] [--size 64] [--batch 256] [--run RUN_ID]

In a fresh subprocess, streams ``n`` frames of a generator (the run's, or an untrained
``dcgan`` of the same architecture: the cost is the same) to 16-bit PNGs and records peak RSS
(``resource.getrusage``) after every chunk. Baseline, measured in the same run: sampling the
same frames without writing them. Prints peak RSS (target < 1 GB for 30,000 frames of 64 px),
RSS growth from the first 20% of frames to the end (bounded memory: ~0), and throughput as a
ratio to the baseline.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import numpy as np
from analysis.export import chunk_seed, export_frames
from models.sampling import sample
args = json.loads(sys.argv[1])
if args["threads"]:
    import torch
    torch.set_num_threads(args["threads"])
if args["run"]:
    from bench.runs import load_generator
    G, _ = load_generator(args["run"])
else:
    from models import get_variant
    G, _ = get_variant("dcgan").build(args["size"], latent_dim=args["latent"], width=args["width"])
    G.eval()
rss, done = [], [0]

def source(k, count):
    x = sample(G, count, seed=chunk_seed(args["seed"], k), batch=64)  # as `mitogan generate`
    done[0] += count
    rss.append((done[0], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    return x

t0 = time.perf_counter()
if args["write"]:
    export_frames(source, args["n"], Path(args["out"]), batch=args["batch"], seed=args["seed"],
                  progress=False)
else:
    for k in range(-(-args["n"] // args["batch"])):
        source(k, min(args["batch"], args["n"] - k * args["batch"]))
took = time.perf_counter() - t0
print(json.dumps({"seconds": took, "rss": rss,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def measure(n: int, size: int = 64, batch: int = 256, *, write: bool = True, run: str | None = None,
            seed: int = 0, latent: int = 128, width: int = 64, threads: int | None = None) -> dict:
    """Run one export (or the sampling-only baseline) in a fresh process.

    ``threads`` caps torch's CPU threads (None: torch's default).
    Returns ``{"seconds", "peak_mb", "rss": [(frames done, peak RSS MB after that chunk), ...]}``.
    """
    with tempfile.TemporaryDirectory() as tmp:
        spec = {"n": n, "size": size, "batch": batch, "write": write, "run": run, "seed": seed,
                "latent": latent, "width": width, "threads": threads, "out": f"{tmp}/frames"}
        proc = subprocess.run([sys.executable, "-c", CHILD, json.dumps(spec)],
                              capture_output=True, text=True)
        if proc.returncode:
            raise RuntimeError(proc.stderr.strip().splitlines()[-1] if proc.stderr else "failed")
        return json.loads(proc.stdout.strip().splitlines()[-1])


def rss_at(result: dict, frames: int) -> float:
    """Peak RSS (MB) once ``frames`` frames were generated."""
    return next(mb for done, mb in result["rss"] if done >= frames)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=30000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--run", default=None, help="a training run id (default: untrained dcgan)")
    args = ap.parse_args(argv)
    base = measure(args.n, args.size, args.batch, write=False, run=args.run)
    ours = measure(args.n, args.size, args.batch, write=True, run=args.run)
    growth = ours["peak_mb"] - rss_at(ours, args.n // 5)
    print(f"export of {args.n} frames of {args.size} px (batch {args.batch}): "
          f"{ours['seconds']:.1f} s, peak RSS {ours['peak_mb']:.0f} MB "
          f"(target < 1024 MB: {'PASS' if ours['peak_mb'] < 1024 else 'FAIL'}), "
          f"RSS growth after the first 20% of frames {growth:+.0f} MB")
    print(f"baseline sampling only: {base['seconds']:.1f} s, peak RSS {base['peak_mb']:.0f} MB; "
          f"export throughput / baseline = {base['seconds'] / ours['seconds']:.2f}")


if __name__ == "__main__":
    main()
