"""Study overhead and worker scaling on a 4-cell grid (2 pipelines × 2 GAN variants).

Prints, for 1 worker then 2 workers on the same grid (fresh study each, same tmp data set):
wall time, time spent inside training and evaluation (recorded by each trial), and

* ``overhead = (wall − Σ train − Σ evaluate) / wall`` for 1 worker — the study machinery's
  share (set-up, claiming, MLflow tagging, the report); target < 5 %. The MLflow store itself
  is created before (once per machine: schema migrations) and its time printed apart;
* ``speedup = wall(1 worker) / wall(2 workers)`` — the baseline is the 1-worker run measured in
  the same invocation.

Run:  python -m bench.perf.study [--steps 150] [--size 32]
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import optuna
import yaml


def _study_file(root: Path, name: str, steps: int, size: int) -> Path:
    doc = {"name": name, "datasets": [{"name": "perf-sim", "simulate": {
               "movies": 4, "frames": 12, "size_yx": [96, 96], "seed": 0}}],
           "pipelines": ["normalize|resize", "normalize|nlm(h=8)|resize"], "gans": ["dcgan", "lsgan"],
           "budget": {"steps": steps, "size": size, "batch": 32, "n_eval_samples": 128},
           "train": {"width": 32, "latent_dim": 64, "threads": 1}}
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def _measure(root: Path, name: str, workers: int, steps: int, size: int) -> dict:
    from bench.study.config import load_config
    from bench.study.runner import resolve_target, run_study
    from bench.study.storage import default_storage_url, open_storage
    path = _study_file(root, name, steps, size)
    cfg = load_config(path)
    # explicit URI: an in-process train() leaves $MLFLOW_TRACKING_URI at MLflow's own default
    target = resolve_target(cfg, root / "ws", tracking_uri=f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
    t0 = time.perf_counter()
    rc = run_study(cfg, path, target, workers)
    wall = time.perf_counter() - t0
    study = optuna.load_study(study_name=name, storage=open_storage(default_storage_url()))
    timings = [t.user_attrs.get("timings", {}) for t in study.get_trials()]
    work = sum(t.get("train_s", 0.0) + t.get("eval_s", 0.0) for t in timings)
    return {"rc": rc, "wall": wall, "work": work, "trials": len(timings)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--size", type=int, default=32)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.chdir(root)  # ./mlruns (journal + SQLite MLflow) inside the tmp dir
        from bench.study.config import load_config
        from bench.study.runner import ensure_datasets
        ensure_datasets(load_config(_study_file(root, "warm", args.steps, args.size)), root / "ws")
        # The MLflow store is created once per machine (schema migrations, seconds): timed apart.
        from bench.tracking import ensure_experiment
        t0 = time.perf_counter()
        ensure_experiment("warm", f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
        store_s = time.perf_counter() - t0
        one = _measure(root, "perf-1w", 1, args.steps, args.size)
        two = _measure(root, "perf-2w", 2, args.steps, args.size)
    for label, m in (("1 worker", one), ("2 workers", two)):
        print(f"{label}: rc {m['rc']}, {m['trials']} trials, wall {m['wall']:.1f} s, "
              f"train+evaluate {m['work']:.1f} s (summed over trials)")
    print(f"one-time MLflow store creation (not counted below): {store_s:.1f} s")
    overhead = (one["wall"] - one["work"]) / one["wall"]
    print(f"study overhead (1 worker): {100 * overhead:.1f} % of wall time (target < 5 %)")
    print(f"speedup 2 workers vs 1 worker (baseline: the 1-worker run above): "
          f"{one['wall'] / two['wall']:.2f}x on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
