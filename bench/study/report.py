"""The end of a study: leaderboard (CSV + Markdown), Pareto-front figure, parameter importances.

Importances say which grid axis or op mattered for each objective. With enough completed
trials (``MIN_TRIALS_FANOVA``) they come from ``optuna.importance`` (fANOVA); with fewer, or
when it fails (e.g. a single value of every parameter), from the fallback: the share of the
objective's variance explained by each parameter's groups (eta², one-way ANOVA), which needs
no model and is exact for a full grid. The method used is written next to the numbers.
"""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import optuna  # noqa: E402
import pandas as pd  # noqa: E402

from bench.study.config import GRID_AXES, StudyConfig  # noqa: E402
from bench.study.grid import final_trials, grid_space, search_space  # noqa: E402
from bench.workspace import atomic_write  # noqa: E402

MIN_TRIALS_FANOVA = 16


def leaderboard(cfg: StudyConfig, study: optuna.Study) -> pd.DataFrame:
    """One row per cell (its standing trial), best first: Pareto rank, then the first objective."""
    rows = []
    for cell, t in final_trials(study).items():
        row = {"trial": t.number, "cell": cell, "state": t.state.name,
               **{k: t.params.get(k) for k in GRID_AXES},
               **{k: t.params.get(k) for k in search_space(cfg)}}
        metrics = t.user_attrs.get("metrics", {})
        for i, o in enumerate(cfg.objectives):
            row[o.metric] = t.values[i] if t.values else np.nan
            row[f"floor_{o.metric}"] = metrics.get(f"floor_{o.metric}", np.nan)
        row["n_real"] = metrics.get("common_n_real", np.nan)  # frames behind each metric
        row["n_fake"] = metrics.get("common_n_fake", np.nan)
        row.update(failure_reason=t.user_attrs.get("failure_reason", ""),
                   mlflow_run_id=t.user_attrs.get("mlflow_run_id", ""))
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    df.insert(0, "pareto_rank", pareto_ranks(df, cfg))
    first = cfg.objectives[0]
    return df.sort_values(["pareto_rank", first.metric], ascending=[True, first.direction == "minimize"],
                          na_position="last").reset_index(drop=True)


def non_dominated(v: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``v`` (N, k), lower is better in every column, that no other row
    dominates (no worse in every column and better in one): the Pareto front."""
    return np.array([not ((v <= p).all(1) & (v < p).any(1)).any() for p in v], dtype=bool)


def pareto_ranks(df: pd.DataFrame, cfg: StudyConfig) -> np.ndarray:
    """Non-dominated sorting rank (1 = Pareto front); trials without values get no rank (NaN)."""
    sign = np.array([1.0 if o.direction == "minimize" else -1.0 for o in cfg.objectives])
    v = df[[o.metric for o in cfg.objectives]].to_numpy(float) * sign  # (N, n_obj), lower better
    ranks = np.full(len(df), np.nan)
    left = np.flatnonzero(np.isfinite(v).all(axis=1))
    rank = 1
    while left.size:
        front = non_dominated(v[left])
        ranks[left[front]] = rank
        left, rank = left[~front], rank + 1
    return ranks


def seed_summary(df: pd.DataFrame, cfg: StudyConfig) -> pd.DataFrame:
    """Mean ± SD of each objective over replicate seeds, per (data set, pipeline, variant, diffaug)."""
    ok = df[df.state == "COMPLETE"]
    keys = ["dataset", "pipeline", "gan", "diffaug"]
    if ok.empty:
        return pd.DataFrame(columns=keys)
    agg = ok.groupby(keys)[[o.metric for o in cfg.objectives]].agg(["mean", "std", "count"])
    agg.columns = [f"{m}_{s}" for m, s in agg.columns]
    return agg.reset_index()


def _eta_squared(y: np.ndarray, groups: pd.Series) -> float:
    total = ((y - y.mean()) ** 2).sum()
    if total == 0 or groups.nunique() < 2:
        return 0.0
    between = sum(len(g) * (g.mean() - y.mean()) ** 2 for _, g in pd.Series(y).groupby(groups.values))
    return float(between / total)


def importances(cfg: StudyConfig, study: optuna.Study) -> pd.DataFrame:
    """Rows ``(objective, param, importance, method)``; params that never varied are left out."""
    done = [t for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))]
    names = [k for k in {**grid_space(cfg), **search_space(cfg)}
             if len({repr(t.params.get(k)) for t in done}) > 1]
    if any(k.startswith("op_") for k in names):  # the op flags say it better than the spec string
        names.remove("pipeline")
    rows = []
    for i, o in enumerate(cfg.objectives):
        scores, method = None, "fanova"
        if len(done) >= MIN_TRIALS_FANOVA and names:
            try:
                scores = optuna.importance.get_param_importances(
                    study, params=names, target=lambda t, i=i: t.values[i])
            except (RuntimeError, ValueError):
                scores = None
        if scores is None:
            method = "eta2"
            y = np.array([t.values[i] for t in done], float)
            scores = {k: _eta_squared(y, pd.Series([repr(t.params.get(k)) for t in done]))
                      for k in names} if len(done) > 1 else {}
        rows += [{"objective": o.metric, "param": k, "importance": float(v), "method": method,
                  "n_trials": len(done)} for k, v in scores.items()]
    return pd.DataFrame(rows, columns=["objective", "param", "importance", "method", "n_trials"])


def pareto_figure(df: pd.DataFrame, cfg: StudyConfig, path: Path) -> Path:
    """Objective 1 vs objective 2 (or objective 1 per cell), Pareto front outlined."""
    fig, ax = plt.subplots(figsize=(7, 5))
    ok = df[np.isfinite(df[cfg.objectives[0].metric].astype(float))] if not df.empty else df
    if len(cfg.objectives) >= 2 and not ok.empty:
        x, y = cfg.objectives[0].metric, cfg.objectives[1].metric
        markers = dict(zip(sorted(ok.pipeline.unique()), "osD^v<>phX*"))
        for (gan, pipe), g in ok.groupby(["gan", "pipeline"]):
            ax.scatter(g[x], g[y], label=f"{gan} | {pipe}", marker=markers.get(pipe, "o"), s=40,
                       color=f"C{sorted(ok.gan.unique()).index(gan) % 10}")
        front = ok[ok.pareto_rank == 1].sort_values(x)
        ax.plot(front[x], front[y], "k--", lw=1, label="Pareto front")
        ax.set_xlabel(f"{x} ({cfg.objectives[0].direction})")
        ax.set_ylabel(f"{y} ({cfg.objectives[1].direction})")
        ax.legend(fontsize=8)
    elif not ok.empty:
        m = cfg.objectives[0].metric
        ax.barh([f"{r.gan} | {r.pipeline}" for r in ok.itertuples()], ok[m])
        ax.set_xlabel(f"{m} ({cfg.objectives[0].direction})")
    n = "" if ok.empty else f"; N real = {ok.n_real.max():.0f}, N generated = {ok.n_fake.max():.0f} per cell"
    ax.set_title(f"study {cfg.name}: {len(ok)} evaluated cells{n}", fontsize=10)
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=110, format=path.suffix.lstrip(".")))
    plt.close(fig)
    return path


def _write(path: Path, text: str) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def _md(df: pd.DataFrame) -> str:
    if df.empty:
        return "_none_\n"
    cells = df.astype(object).where(df.notna(), "").map(
        lambda v: f"{v:.4g}" if isinstance(v, float) else str(v).replace("|", "\\|"))
    head = "| " + " | ".join(df.columns) + " |\n|" + "---|" * len(df.columns) + "\n"
    return head + "".join("| " + " | ".join(r) + " |\n" for r in cells.to_numpy().tolist())


def write_report(cfg: StudyConfig, study: optuna.Study, out_dir: Path) -> list[Path]:
    """Write leaderboard.csv, seeds.csv, importance.csv, pareto.png and report.md (last)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    board = leaderboard(cfg, study)
    seeds = seed_summary(board, cfg) if not board.empty else pd.DataFrame()
    imp = importances(cfg, study)
    files = [_write(out_dir / "leaderboard.csv", board.to_csv(index=False)),
             _write(out_dir / "seeds.csv", seeds.to_csv(index=False)),
             _write(out_dir / "importance.csv", imp.to_csv(index=False)),
             pareto_figure(board, cfg, out_dir / "pareto.png")]
    objectives = ", ".join(f"`{o.metric}` ({o.direction})" for o in cfg.objectives)
    show = [c for c in board.columns if c not in ("cell", "mlflow_run_id")]
    text = (f"# Study `{cfg.name}`\n\nObjectives: {objectives}. Cells: {len(board)}; "
            f"states: {board.state.value_counts().to_dict() if not board.empty else {}}.\n\n"
            f"## Leaderboard (best first; `floor_*` = real-vs-real)\n\n{_md(board[show] if show else board)}\n"
            f"## Over replicate seeds (mean, SD, n)\n\n{_md(seeds)}\n"
            f"## Parameter importance\n\n{_md(imp)}\n![Pareto front](pareto.png)\n")
    files.append(_write(out_dir / "report.md", text))
    return files
