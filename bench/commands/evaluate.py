"""``mitogan evaluate --run RUN_ID``: score a run's generator against its held-out movies (floor at
matched N, 95% intervals over movies, copying / collapse verdicts; :mod:`bench.jobs.evaluate`)
and log the results to the run."""
from __future__ import annotations

import sys

from bench.workspace import workspace_dir


def _run(args) -> int:
    from bench.commands.compare import MIN_BOOT
    from bench.errors import MitoError
    from bench.jobs.evaluate import evaluate_run
    from analysis.extractors import absent_notice, available_extractors

    if args.n_boot is not None and args.n_boot < MIN_BOOT:
        raise MitoError("--n-boot", f"must be at least {MIN_BOOT}, got {args.n_boot}")
    if "inception-v3-compat" not in available_extractors():
        print(absent_notice(), file=sys.stderr)  # standard FID skipped: say so, never download
    flat = evaluate_run(args.run, workspace=workspace_dir(args.workspace), tracking_uri=args.tracking_uri,
                        n_samples=args.n_samples, log=not args.no_log, print_table=True,
                        n_boot=args.n_boot)
    print(f"{len(flat)} metrics" + (" logged to run " + args.run if not args.no_log else ""))
    return 0


def register(sub) -> None:
    p = sub.add_parser("evaluate", help="evaluate a training run's generator and log to the run")
    p.add_argument("--run", required=True, help="MLflow run id of a `mitogan train` run")
    p.add_argument("--n-samples", type=int, default=None, help="generated frames (default: the N of the run's last evaluation, else N train)")
    p.add_argument("--n-boot", type=int, default=None,
                   help="bootstrap replicates over movies (default: the protocol's 200)")
    p.add_argument("--tracking-uri", default=None)
    p.add_argument("--no-log", action="store_true", help="print only; log nothing to the run")
    p.set_defaults(func=_run)
