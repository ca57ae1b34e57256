"""``mitogan validate-metrics``: known-answer checks of every metric (pass/fail table)."""
from __future__ import annotations

from pathlib import Path

from bench.workspace import workspace_dir

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _run(args) -> int:
    from analysis.metrics.known_answers import format_checks, validate

    data_dir = Path(args.data_dir) if args.data_dir else DATA_DIR
    if not data_dir.is_dir():
        print(f"notice: {data_dir} absent: checks on real HeLa frames skipped")
    results = validate(workspace_dir(args.workspace), quick=args.quick, data_dir=data_dir,
                       seed=args.seed, size=args.size)
    failed = 0
    for frames, checks in results:
        print(format_checks(frames.name, len(frames.x), checks) + "\n")
        failed += sum(c.passed is False for c in checks)
    print("all checks passed" if not failed else f"{failed} check(s) FAILED")
    return 1 if failed else 0


def register(sub) -> None:
    p = sub.add_parser("validate-metrics", help="check every metric against known answers")
    p.add_argument("--quick", action="store_true", help="small simulator set (8 movies x 8 frames)")
    p.add_argument("--data-dir", default=None, help="folder holding the real HeLa movie "
                   "(default ../shared/data next to the project)")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_run)
