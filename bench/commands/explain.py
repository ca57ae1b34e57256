"""``mitogan explain``: which geometric features a run's discriminator finds salient, scored
against a randomized-discriminator null (tables + figures logged to the run)."""
from __future__ import annotations

import math

from bench.choices import ATTRIBUTION_METHODS, listed


def _fmt(v: float) -> str:
    return "-" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.2f}"


def _rank(v: float) -> str:
    return "-" if math.isnan(v) else str(int(v))


def print_summary(result) -> None:
    """The consensus ranking per source as a rich table (with N and the sanity verdicts)."""
    from rich.console import Console
    from rich.table import Table

    con = Console()
    sanity = result.table.drop_duplicates("method").set_index("method")["sanity_rho"]
    verdict = ", ".join(f"{m} rho={r:.2f}{'' if r <= 0.8 else ' FAILED'}" for m, r in sanity.items())
    con.print(f"sanity (trained vs randomized maps, Spearman; fails above 0.8): {verdict}")
    for src, d in result.summary.groupby("source", sort=False):
        t = Table(title=f"salient geometric features, {src} frames (N = {len(result.frames[src])})")
        for col in ("rank", "feature", "unique excess", "enrichment", "over null", "marginal rank",
                    "in frames", "causal effect [95% CI]"):
            t.add_column(col, justify="left" if col == "feature" else "right")
        for r in d.itertuples():
            ci = "-" if math.isnan(r.causal_effect) else \
                f"{r.causal_effect:+.2f} [{r.causal_lo:+.2f}, {r.causal_hi:+.2f}]"
            t.add_row(_rank(r.rank), r.feature, _fmt(r.unique), _fmt(r.enrichment),
                      _fmt(r.over_null), _rank(r.marginal_rank), f"{r.support:.0%}", ci)
        con.print(t)
    con.print("medians over methods passing the sanity check. enrichment = |attribution| share / "
              "area share; over null = that / the same for a randomized discriminator; unique "
              "excess = attribution density the feature adds beyond the overlapping masks, "
              "trained minus randomized (rank); causal effect = logit change blurring the "
              "feature minus blurring equal random foreground (negative: it makes frames look real)")


def _run(args) -> int:
    from analysis.attribution import DEFAULT_METHODS, list_methods
    from bench.jobs.explain import explain_run
    from bench.errors import MitoError
    from bench.workspace import workspace_dir

    # the default is filled in here, not in register: importing the methods (torch, captum)
    # would slow every mitogan command
    spec = ",".join(DEFAULT_METHODS) if args.methods is None else args.methods
    methods = [m.strip() for m in spec.split(",") if m.strip()]
    unknown = [m for m in methods if m not in list_methods()]
    if not methods or unknown:
        raise MitoError("--methods", f"unknown method(s) {unknown or '(none given)'} "
                                     f"(choose from {', '.join(list_methods())})")
    if args.frames < 2:
        raise MitoError("--frames", f"needs at least 2 frames, got {args.frames}")
    result = explain_run(args.run, workspace=workspace_dir(args.workspace),
                         tracking_uri=args.tracking_uri, methods=methods, n_frames=args.frames,
                         seed=args.seed, batch=args.batch, log=not args.no_log, out_dir=args.out)
    print_summary(result)
    if not args.no_log:
        print(f"logged to run {args.run}: artifacts explain/ (table.csv, explain.json, figures)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("explain", help="captum attribution of a run's discriminator onto "
                                       "geometric features, against a randomized null")
    p.add_argument("--run", required=True, help="MLflow run id of a training run")
    p.add_argument("--methods", default=None,
                   help=f"comma-separated, of: {listed(ATTRIBUTION_METHODS)} (ig: blurred baseline, "
                        "saliency: SmoothGrad)")
    p.add_argument("--frames", type=int, default=64, help="held-out real and generated frames each")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=16, help="frames per attribution call")
    p.add_argument("--tracking-uri", default=None, help="MLflow tracking URI (default ./mlruns)")
    p.add_argument("--out", default=None, help="also write tables and figures to this folder")
    p.add_argument("--no-log", action="store_true", help="do not log to the run")
    p.set_defaults(func=_run)
