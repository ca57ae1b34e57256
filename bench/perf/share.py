"""Fair sharing of cores: 1 and 2 concurrent ``mitogan train`` processes on the same cores.

    python -m bench.perf.share [--steps 60] [--rounds 2]

Each round runs, as whole commands (dcgan, 64 px, width 32, batch 64, DiffAugment + EMA):
one training alone (``--workers 1``: it takes every usable core), then two at once with
``--workers 2`` (each takes half), then two at once with ``--threads <all cores>`` each (what
every process did before ``bench.threads``: oversubscribed). images/s of a run is the median of
its logged ``images_per_s`` after the first two windows. Ideal for two at once is the solo
figure (the cores are the same); the script prints aggregate images/s against it, median over
rounds. Target ≥ 0.9× ideal.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from bench.perf.cli import mitogan_exe
from bench.threads import usable_cores


def dataset(ws: Path) -> None:
    import tifffile

    from bench.perf.movies import synthetic_movie
    from preprocessing.ingest import import_dataset
    paths = []
    for i in range(4):
        p = ws.parent / f"share{i}.tif"
        tifffile.imwrite(p, (synthetic_movie(64, 80, seed=i) * 65535).astype(np.uint16))
        paths.append(p)
    import_dataset(paths, "perf", ws, progress=False)


def run_together(ws: Path, uri: str, n: int, steps: int, extra: list[str]) -> list[float]:
    """Start ``n`` trainings at once; images/s of each (median of its logged windows)."""
    from mlflow.tracking import MlflowClient
    cmd = mitogan_exe() + ["--workspace", str(ws), "train", "--dataset", "perf", "--gan", "dcgan",
                           "--size", "64", "--width", "32", "--batch", "64", "--diffaug", "--ema",
                           "--steps", str(steps), "--tracking-uri", uri, "--experiment", "perf",
                           "--set", "log_every=5", "--set", "sample_every=100000",
                           "--set", "ckpt_every=100000", "--set", "log_model=false", *extra]
    procs = [subprocess.Popen(cmd + ["--seed", str(i)], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) for i in range(n)]
    run_ids = []
    for p in procs:
        out, _ = p.communicate()
        if p.returncode != 0:
            raise SystemExit(f"training failed (exit {p.returncode}): {' '.join(cmd)}")
        run_ids.append(out.split()[1])  # "run <id> FINISHED after ..."
    c = MlflowClient(uri)
    rates = []
    for rid in run_ids:
        hist = sorted(c.get_metric_history(rid, "images_per_s"), key=lambda m: m.step)
        rates.append(statistics.median(m.value for m in hist[2:] or hist))
    return rates


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args(argv)
    cores, how = usable_cores()
    all_cores = str(max(1, int(cores)))
    with tempfile.TemporaryDirectory(prefix="mitogan-share-") as tmp:
        ws = Path(tmp) / "ws"
        dataset(ws)
        uri = f"sqlite:///{Path(tmp) / 'mlflow.db'}"
        from bench.tracking import ensure_experiment
        ensure_experiment("perf", uri)
        run_together(ws, uri, 1, 12, [])  # warm the preprocessing cache and the store
        solo, fair, over = [], [], []
        for _ in range(args.rounds):
            solo.append(run_together(ws, uri, 1, args.steps, ["--workers", "1"])[0])
            fair.append(sum(run_together(ws, uri, 2, args.steps, ["--workers", "2"])))
            over.append(sum(run_together(ws, uri, 2, args.steps, ["--threads", all_cores])))
    ideal = statistics.median(solo)
    print(f"{how}; dcgan 64 px, width 32, batch 64, DiffAugment + EMA, {args.steps} steps, "
          f"median of {args.rounds} rounds")
    print(f"  1 training  (--workers 1, {all_cores} threads): {ideal:7.1f} images/s (ideal for 2 at once)")
    f, o = statistics.median(fair), statistics.median(over)
    print(f"  2 trainings (--workers 2): aggregate {f:7.1f} images/s → {f / ideal:.2f}x ideal (target ≥ 0.9x)")
    print(f"  2 trainings (--threads {all_cores} each, oversubscribed): aggregate {o:7.1f} images/s → "
          f"{o / ideal:.2f}x ideal")


if __name__ == "__main__":
    main()
