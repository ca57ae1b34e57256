"""``mitogan report``: the study's HTML report page, Markdown summary and CSV tables."""
from __future__ import annotations


def _run(args) -> int:
    from bench.jobs.report import build_report
    from bench.workspace import workspace_dir
    res = build_report(args.study, args.out, tracking_uri=args.tracking_uri,
                       workspace=workspace_dir(args.workspace), log=not args.no_log,
                       seed=args.seed)
    print(f"report of study {args.study!r} ({res.n_trials} trials) → {res.html}")
    print(f"  summary → {res.markdown}")
    for s in res.sections:
        if s.missing:
            print(f"  {s.title}: not available ({s.missing})")
    if res.logged_to:
        print(f"  logged as artifacts report/ of parent run {res.logged_to}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="build a study's self-contained HTML report")
    p.add_argument("--study", required=True, help="study name (MLflow experiment study-NAME)")
    p.add_argument("--out", default=None, help="output folder (default reports/NAME)")
    p.add_argument("--tracking-uri", default=None)
    p.add_argument("--seed", type=int, default=0, help="seed of sampled frames and the quiz")
    p.add_argument("--no-log", action="store_true",
                   help="do not attach the report to the study's parent run")
    p.set_defaults(func=_run)
