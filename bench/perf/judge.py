"""Speed of the real-or-fake judge and of the utility test, on the CPU.

    python -m bench.perf.judge [--n 1000] [--size 64] [--skip-utility] [--train-steps 150]

1. ``c2st`` (CNN judge, 5 folds) on ``--n`` real vs ``--n`` "generated" frames of ``--size`` px,
   against the named baseline measured in the same run on the same frames: a C2ST with a
   sklearn logistic regression on raw pixels (``judge="logreg-pixels"``). Real frames are
   simulator movies (many short movies, grouped by movie); "generated" frames are frames of
   other simulator movies blurred by σ = 0.6 px, a defect the baseline misses and the CNN finds.
   Prints seconds, the ratio CNN / baseline and both accuracies. Target: well under 60 s.
2. ``utility_run`` on the shared HeLa movie (3 panels = 3 drug conditions, split by time)
   with the 10x arm, for a DCGAN trained ``--train-steps`` steps in a temp store; baseline in
   the same run: the real-only arm alone (one SSL pretraining + probe). Skipped with a
   message when ``../shared/data`` is absent.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from analysis.judge import c2st
from analysis.metrics.known_answers import HELA_ROIS, HELA_TIF
from bench.commands.validate import DATA_DIR


def sim_frames(n: int, size: int, seed: int):
    """``2n`` simulator frames ``(2n, 1, size, size)`` [0, 1] from ``2n / 4`` movies + movie ids."""
    from preprocessing.simulator import SimParams, allocate_classes
    from preprocessing.simulator.core import simulate_movie
    frames, ids = [], []
    for i, cls in enumerate(allocate_classes(None, (2 * n + 3) // 4, seed)):
        stack = simulate_movie(cls, SimParams(), 4, (size, size), seed, i)[0].astype(np.float32)
        lo, hi = np.percentile(stack, [1, 99.8])
        frames.append(np.clip((stack - lo) / (hi - lo + 1e-6), 0, 1))
        ids += [f"movie_{i:03d}"] * len(stack)  # as ``simulate`` names the files
    return np.concatenate(frames)[: 2 * n, None], np.asarray(ids)[: 2 * n]


def bench_judge(n: int, size: int) -> None:
    x, ids = sim_frames(n, size, 0)  # (2n, 1, S, S)
    real, fake = x[:n], np.stack([cv2.GaussianBlur(f[0], (0, 0), 0.6)[None] for f in x[n:]])
    times, accs = {}, {}
    for judge in ("logreg-pixels", "cnn"):
        t0 = time.perf_counter()
        res = c2st(real, fake, judge=judge, real_groups=ids[:n], fake_groups=ids[n:])
        times[judge], accs[judge] = time.perf_counter() - t0, res["acc"]
    print(f"judge: {n} real vs {n} generated frames of {size} px, 5 folds, CPU")
    print(f"  baseline logreg-pixels C2ST: {times['logreg-pixels']:.1f} s "
          f"(acc {accs['logreg-pixels']:.3f})")
    print(f"  cnn C2ST (mitogan judge):   {times['cnn']:.1f} s (acc {accs['cnn']:.3f})")
    print(f"  ratio cnn / baseline: {times['cnn'] / times['logreg-pixels']:.2f}")


def bench_utility(root: Path, train_steps: int, ssl_steps: int) -> None:
    hela = DATA_DIR / HELA_TIF
    if not hela.is_file():
        print(f"utility: skipped, {hela} is absent (a fresh clone has no ../shared)")
        return
    from analysis.downstream import embed, probe_correct
    from analysis.extractors.ssl import train_ssl_encoder
    from bench import tracking
    from bench.config import TrainConfig
    from bench.jobs.utility import utility_run
    from bench.train import train
    from preprocessing.ingest import import_dataset
    ws, uri = root / "ws", f"sqlite:///{root / 'mlflow.db'}"
    ds = import_dataset([hela], "hela", ws, rois=HELA_ROIS, progress=False)
    tracking.ensure_experiment("perf", uri)
    cfg = TrainConfig(dataset="hela", pipeline="normalize|resize", size=64, steps=train_steps,
                      experiment="perf", log_model=False, threads=1)
    run_id = train(cfg, workspace=ws, tracking_uri=uri, progress=False).run_id
    labels = dict(zip(ds.movie_ids, ["A", "B", "C"]))
    t0 = time.perf_counter()
    res = utility_run(run_id, workspace=ws, tracking_uri=uri, labels=labels, ratios=(10,),
                      ssl_steps=ssl_steps, log=False, progress=False)
    took = time.perf_counter() - t0
    from preprocessing.pipeline import prepare
    prep = prepare(ds, cfg.pipeline, cfg.size, ws, progress=False)
    t0 = time.perf_counter()  # baseline: one arm alone (same frame counts; labels only for timing)
    enc = train_ssl_encoder(prep.x[: res["n_ssl_real"]], steps=ssl_steps, seed=0, size=64,
                            progress=False)
    probe_correct(embed(enc, prep.x[: res["n_train"]]), np.arange(res["n_train"]) % 3,
                  embed(enc, prep.x[-res["n_test"]:]), np.arange(res["n_test"]) % 3)
    base = time.perf_counter() - t0
    print(f"utility on HeLa ({res['split']} split, {res['n_ssl_real']} real SSL frames, 10x arm, "
          f"{ssl_steps} SSL steps/arm): {took:.1f} s; baseline real arm alone {base:.1f} s; "
          f"ratio {took / base:.2f}")
    for arm, a in res["arms"].items():
        print(f"  {arm:<9} probe acc {a['acc']:.3f} [{a['ci_low']:.3f}, {a['ci_high']:.3f}]")
    print(f"  gain 10x: {res['gains'][10]['gain']:+.3f} -> {res['gains'][10]['verdict']}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--train-steps", type=int, default=150)
    ap.add_argument("--ssl-steps", type=int, default=300)
    ap.add_argument("--skip-utility", action="store_true")
    args = ap.parse_args()
    bench_judge(args.n, args.size)
    if not args.skip_utility:
        with tempfile.TemporaryDirectory() as tmp:
            bench_utility(Path(tmp), args.train_steps, args.ssl_steps)


if __name__ == "__main__":
    main()
