"""``mitogan judge``: can a small CNN tell a run's generated frames from held-out real frames?"""
from __future__ import annotations

from bench.choices import JUDGES, listed


def _run(args) -> int:
    from bench.jobs.judge import judge_run

    out = judge_run(args.run, workspace=args.workspace, tracking_uri=args.tracking_uri,
                    n_samples=args.n_samples, folds=args.folds, seed=args.seed, judge=args.judge,
                    n_perm=args.perm, log=not args.no_log)
    print(f"C2ST ({args.judge}, {out['c2st_folds']}-fold leave-movie-out, {out['c2st_n_real']} real vs "
          f"{out['c2st_n_fake']} generated frames; 0.5 = indistinguishable)")
    print(f"  real vs generated: acc {out['c2st_acc']:.3f} [{out['c2st_acc_ci_low']:.3f}, "
          f"{out['c2st_acc_ci_high']:.3f}]  p = {out['c2st_p']:.2g} (binomial)"
          + (f", p_perm = {out['c2st_p_perm']:.2g} ({args.perm} permutations)"
             if "c2st_p_perm" in out else ""))
    print(f"  floor, real train vs real held-out: acc {out['floor_c2st_acc']:.3f} "
          f"[{out['floor_c2st_acc_ci_low']:.3f}, {out['floor_c2st_acc_ci_high']:.3f}]")
    if not args.no_log:
        print(f"  logged to run {args.run} (metrics c2st_*, artifacts judge/which_is_real.png, "
              "judge/c2st.json)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("judge", help="real-or-fake judge (classifier two-sample test) of a run")
    p.add_argument("--run", required=True, help="MLflow run id of a training run")
    p.add_argument("--tracking-uri", default=None, help="MLflow tracking URI (default ./mlruns)")
    p.add_argument("--n-samples", type=int, default=None,
                   help="generated frames (default: as many as held-out real frames)")
    p.add_argument("--folds", type=int, default=5,
                   help="folds of whole movies (at most; lowered to the movies per side)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--judge", default="cnn",
                   help=f"classifier: {listed(JUDGES)} (default cnn; logreg-pixels is the baseline)")
    p.add_argument("--perm", type=int, default=5,
                   help="label permutations for a permutation p-value (each reruns the k-fold)")
    p.add_argument("--no-log", action="store_true", help="do not log to the run")
    p.set_defaults(func=_run)
