"""``mitogan utility``: does pretraining on real + synthetic frames help a probe on real frames?"""
from __future__ import annotations

import csv

from bench.errors import MitoError


def parse_labels(text: str | None = None, csv_path: str | None = None) -> dict[str, str] | None:
    """``"movie=label,..."`` or a CSV with columns ``movie,label`` -> {movie id: label}."""
    if text and csv_path:
        raise MitoError("--labels", "give --labels or --labels-csv, not both")
    pairs: list[tuple[str, str]] = []
    if text:
        for item in filter(None, (s.strip() for s in text.split(","))):
            movie, sep, label = item.partition("=")
            pairs.append((movie.strip(), label.strip()) if sep else ("", ""))
        where = "--labels"
    elif csv_path:
        where = csv_path
        try:
            with open(csv_path, newline="") as f:
                rows = list(csv.DictReader(f))
        except OSError as err:
            raise MitoError(csv_path, f"cannot read labels CSV ({err.strerror})") from None
        if not rows or not {"movie", "label"} <= set(rows[0]):
            raise MitoError(csv_path, "labels CSV needs a header with columns 'movie' and 'label'")
        pairs = [((r["movie"] or "").strip(), (r["label"] or "").strip()) for r in rows]
    else:
        return None
    out: dict[str, str] = {}
    for movie, label in pairs:
        if not movie or not label:
            raise MitoError(where, "every entry must be movie=label with both parts non-empty")
        if movie in out:
            raise MitoError(where, f"movie {movie!r} labelled twice")
        out[movie] = label
    return out


def parse_ratios(text: str) -> list[int]:
    try:
        ratios = [int(r) for r in text.split(",") if r.strip()]
    except ValueError:
        raise MitoError("--ratios", f"expected comma-separated integers, got {text!r}") from None
    if not ratios or min(ratios) < 1:
        raise MitoError("--ratios", f"ratios must be integers >= 1, got {text!r}")
    return ratios


def _run(args) -> int:
    from analysis.downstream import summary_lines
    from bench.jobs.utility import utility_run

    labels = parse_labels(args.labels, args.labels_csv)
    res = utility_run(args.run, workspace=args.workspace, tracking_uri=args.tracking_uri,
                      labels=labels, ratios=parse_ratios(args.ratios), ssl_steps=args.ssl_steps,
                      seed=args.seed, split=args.split, log=not args.no_log)
    print(f"utility of run {args.run} (split by {res['split']})")
    print("\n".join(summary_lines(res)))
    if res["generator_saw_test_frames"]:
        print("  note: the generator was trained on movies whose later frames test the probe")
    return 0


def register(sub) -> None:
    p = sub.add_parser("utility", help="does adding synthetic frames help a probe on real frames?")
    p.add_argument("--run", required=True, help="MLflow run id of a training run")
    p.add_argument("--tracking-uri", default=None, help="MLflow tracking URI (default ./mlruns)")
    p.add_argument("--labels", default=None, help="movie=label,... (default: movie meta label/class)")
    p.add_argument("--labels-csv", default=None, type=str, help="CSV with columns movie,label")
    p.add_argument("--ratios", default="1,10,50", help="synthetic:real ratios of the mixed arms")
    p.add_argument("--ssl-steps", type=int, default=300, help="SSL steps per arm")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--split", default="auto", choices=["auto", "movie", "time"],
                   help="probe split: by movie, by time within movies, or auto")
    p.add_argument("--no-log", action="store_true", help="do not log to the run")
    p.set_defaults(func=_run)
