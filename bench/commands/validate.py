"""``mitogan validate-metrics``: known-answer checks of every metric (pass/fail table), then the
planted-generator ladder of the scoring protocol (:mod:`analysis.protocol.ladder`) on simulator
movies and, when the data folder holds it, on the HeLa movie. Exit 1 when any check fails."""
from __future__ import annotations

from pathlib import Path

from bench.errors import MitoError
from bench.workspace import workspace_dir

DATA_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data"


def _known_answers(args, ws, data_dir: Path) -> int:
    """The metric-by-metric checks; returns the number failed."""
    from analysis.metrics.known_answers import format_checks, validate

    results = validate(ws, quick=args.quick, data_dir=data_dir, seed=args.seed, size=args.size)
    failed = 0
    for frames, checks in results:
        print(format_checks(frames.name, len(frames.x), checks) + "\n")
        failed += sum(c.passed is False for c in checks)
    return failed


def _ladder(args, ws, data_dir: Path) -> int:
    """The ladder on every available set; returns the number of requirements failed."""
    from analysis.protocol import ladder

    kw = {} if args.n_boot is None else {"n_boot": args.n_boot}
    sets = [lambda: ladder.simulator_movies(per_class=9, frames=12, size=args.size, seed=args.seed),
            lambda: ladder.hela_movies(data_dir, size=args.size)]  # None when the movie is absent
    failed = 0
    for make in sets:
        if (movies := make()) is None:
            continue
        result = ladder.run_ladder(movies, workspace=ws, seed=args.seed, **kw)
        print(ladder.format_ladder(result) + "\n")
        failed += sum(not ok for ok in result["checks"].values())
    return failed


def _run(args) -> int:
    from bench.commands.compare import MIN_BOOT

    if args.n_boot is not None and args.n_boot < MIN_BOOT:
        raise MitoError("--n-boot", f"must be at least {MIN_BOOT}, got {args.n_boot}")
    data_dir = Path(args.data_dir) if args.data_dir else DATA_DIR
    if not data_dir.is_dir():
        print(f"notice: {data_dir} absent: checks on real HeLa frames skipped")
    ws = workspace_dir(args.workspace)
    failed = 0 if args.ladder_only else _known_answers(args, ws, data_dir)
    failed += _ladder(args, ws, data_dir)
    print("all checks passed" if not failed else f"{failed} check(s) FAILED")
    return 1 if failed else 0


def register(sub) -> None:
    p = sub.add_parser("validate-metrics", help="check every metric against known answers and the protocol "
                       "against planted generators")
    p.add_argument("--quick", action="store_true", help="small simulator set for the known-answer checks "
                   "(8 movies x 8 frames); the ladder keeps its sizes")
    p.add_argument("--ladder-only", action="store_true", help="skip the known-answer checks, run only the ladder")
    p.add_argument("--n-boot", type=int, default=None,
                   help="ladder: bootstrap replicates over movies (default the protocol's 200)")
    p.add_argument("--data-dir", default=None, help="folder holding the real HeLa movie "
                   "(default ../shared/data next to the project)")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--seed", type=int, default=0)
    p.set_defaults(func=_run)
