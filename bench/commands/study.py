"""``mitogan study --config studies/NAME.yaml``: an Optuna study over preprocessing × GAN variants."""
from __future__ import annotations

import os
from pathlib import Path

from bench.study import STORAGE_ENV, TRACKING_ENV
from bench.workspace import workspace_dir


def _study(args) -> int:
    from bench.study.config import cells, load_config
    from bench.study.runner import resolve_target, run_study, run_worker, validate
    from bench.errors import redact
    cfg = load_config(args.config)
    target = resolve_target(cfg, workspace_dir(args.workspace), args.storage, args.tracking_uri,
                            args.heartbeat)
    if args.worker:
        return run_worker(cfg, target)
    if args.dry_run:
        validate(cfg, target.workspace)
        grid = cells(cfg)
        for i, c in enumerate(grid):
            print(f"{i:4d}  {c.id:36s} {c.dataset} | {c.pipeline}")
        print(f"{len(grid)} cells; storage {redact(target.storage_url)}; tracking "
              f"{redact(target.tracking_uri)}; "
              f"experiment {cfg.experiment}; objectives "
              + ", ".join(f"{o.metric} ({o.direction})" for o in cfg.objectives))
        f = cfg.finish
        steps = [s for s, on in ((f"explain ({f.explain_frames} frames)", f.explain), ("judge", f.judge),
                                 (f"generate {f.generate_ratio}x", f.generate)) if on]
        print(f"{args.workers or cfg.workers} worker(s); then for the best trial: "
              + (", ".join(steps) if steps else "nothing (finish: all off)") + ", the report")
        return 0
    from bench.study.gpus import parse_gpus
    return run_study(cfg, Path(args.config).resolve(), target, args.workers or cfg.workers,
                     parse_gpus(args.gpus))


def register(sub) -> None:
    p = sub.add_parser("study", help="run (or resume, or join) an Optuna study from a study file")
    p.add_argument("--config", required=True, help="study file, e.g. studies/demo.yaml")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes on this host (default: the file's workers:, else 1)")
    p.add_argument("--gpus", default=None,
                   help="cards for the workers, round-robin, one per worker process via "
                        "CUDA_VISIBLE_DEVICES, e.g. 0,1 or none (default: every visible card)")
    p.add_argument("--storage", default=os.environ.get(STORAGE_ENV),
                   help="Optuna storage: journal:PATH, sqlite:///PATH or postgresql://... "
                        "(default: $MITOGAN_STORAGE, else the file's storage:, else journal "
                        "under ./mlruns; the environment keeps a password off `ps`)")
    p.add_argument("--tracking-uri", default=os.environ.get(TRACKING_ENV),
                   help="MLflow tracking URI (default: $MITOGAN_TRACKING_URI, else the file's "
                        "tracking_uri:, else "
                        "$MLFLOW_TRACKING_URI, else SQLite under ./mlruns)")
    p.add_argument("--heartbeat", type=int, default=30,
                   help="seconds between heartbeats (RDB storages); a trial silent for 3× this "
                        "is re-queued")
    p.add_argument("--dry-run", action="store_true", help="validate and list the cells; run nothing")
    p.add_argument("--worker", action="store_true",
                   help="only claim and run cells of an already set-up study (used by --workers)")
    p.set_defaults(func=_study)
