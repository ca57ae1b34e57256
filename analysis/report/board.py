"""The study's tables: leaderboard ranked by the protocol (:mod:`analysis.protocol.ranking`),
summary over replicate seeds, parameter
importances (computations on :class:`~analysis.report.study.StudyData`, no rendering).

Importances say which grid axis, op or searched hyperparameter mattered for each objective.
With enough completed trials (``MIN_TRIALS_FANOVA``) they come from ``optuna.importance``
(fANOVA); with fewer, or when it fails (e.g. a single value of every parameter), from the
share of the objective's variance explained by each parameter's groups (eta², one-way ANOVA),
which needs no model and is exact for a full grid. The method used is written next to the numbers.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.metrics import floor_key
from analysis.protocol.flat import COLLAPSED, COPYING, HIGH, INTENSITY, LOW, gap_key
from analysis.protocol.ranking import rank_rows, verdict_word
from analysis.protocol.score import HEADLINE
from preprocessing.pipeline import Pipeline, op_flag

MIN_TRIALS_FANOVA = 16
SEED_KEYS = ["dataset", "pipeline", "gan", "diffaug", "ada", "output"]  # every grid axis but the seed
# The board's metrics beyond the objectives: the protocol's headline metrics, then the judge.
EXTRA = (*HEADLINE, "c2st_acc")
SUFFIXES = (LOW, HIGH)  # each metric's interval columns (m_ci_low, m_ci_high)
# What each trial's training cost (logged by bench.train at its last step).
COMPUTE = ("steps_done", "train_seconds", "images_seen", "train_gflops")


def non_dominated(v: np.ndarray) -> np.ndarray:
    """Mask of the rows of ``v`` (N, k), lower is better in every column, that no other row
    dominates (no worse in every column and better in one): the Pareto front."""
    return np.array([not ((v <= p).all(1) & (v < p).any(1)).any() for p in v], dtype=bool)


def pareto_ranks(df: pd.DataFrame, objectives) -> np.ndarray:
    """Non-dominated sorting rank (1 = Pareto front); trials without values get no rank (NaN)."""
    sign = np.array([1.0 if d == "minimize" else -1.0 for _, d in objectives])
    cols = [m for m, _ in objectives]
    v = df.reindex(columns=cols).to_numpy(float) * sign  # (N, n_obj), lower better
    ranks = np.full(len(df), np.nan)
    left = np.flatnonzero(np.isfinite(v).all(axis=1))
    rank = 1
    while left.size:
        front = non_dominated(v[left])
        ranks[left[front]] = rank
        left, rank = left[~front], rank + 1
    return ranks


def metric_columns(df: pd.DataFrame, objectives) -> list[str]:
    """The board's metrics: objectives, the protocol's headline metrics, the judge's accuracy
    and utility gains, those some trial has."""
    cols = [m for m, _ in objectives]
    cols += [m for m in EXTRA if m not in cols]
    cols += sorted(c for c in df.columns if c.startswith("utility_gain") and not c.endswith(SUFFIXES))
    return [c for c in cols if c in df.columns]


def standing(trials: pd.DataFrame) -> pd.DataFrame:
    """The trial that stands for each cell: its latest one that ended (retries supersede)."""
    done = trials[trials["state"] != "running"]
    has_cell = done["cell"].astype(bool)
    latest = done[has_cell].sort_values("trial").groupby("cell", sort=False).tail(1)
    return pd.concat([latest, done[~has_cell]]).sort_values("trial", na_position="last")


def ranked(trials: pd.DataFrame) -> pd.DataFrame:
    """Trials that the protocol ranks (complete, a verdict, an intensity pipeline), best first,
    with their ``rank`` (:func:`analysis.protocol.ranking.rank_rows`)."""
    if trials.empty:
        return trials.assign(rank=pd.Series(dtype="Int64"))
    done = standing(trials)  # the trial that stands for each cell, as on the leaderboard
    done = done[done["state"] == "complete"]
    ranks = pd.Series(rank_rows([r for _, r in done.iterrows()]), index=done.index, dtype="Int64")
    return done.assign(rank=ranks)[ranks.notna()].sort_values("rank")


def leaderboard(study) -> pd.DataFrame:
    """One row per cell (its standing trial), best first by the protocol's rank.

    Columns: ``rank`` (non-copiers first, then by ``heldout_gap``; empty for trials not ranked),
    ``verdict`` (in words: :func:`analysis.protocol.ranking.verdict_word`), ``trial, cell,
    state``, the grid axes, the searched hyperparameters; for every metric of
    :func:`metric_columns` its value, ``_ci_low`` / ``_ci_high`` (95% over movies), ``floor_``
    (+ interval: training movies vs the same held-out movies at the same N) and ``gap_z_`` where
    logged; the flags ``copying``, ``collapsed``, ``intensity_output``; ``n_samples``,
    ``n_heldout_movies``; ``pareto_rank`` with several objectives;
    ``failure_reason``, ``mlflow_run_id``. ``attrs["metrics"]`` names the metric columns.
    """
    df = standing(study.trials)
    if df.empty:
        return pd.DataFrame()
    rows = [r for _, r in df.iterrows()]
    done = (df["state"] == "complete").to_numpy()
    ranks = rank_rows([r if ok else {} for r, ok in zip(rows, done)])  # {}: never ranked
    out = pd.DataFrame({"rank": pd.array(ranks, dtype="Int64"),
                        "verdict": [verdict_word(r) if ok else "" for r, ok in zip(rows, done)],
                        "trial": df["trial"].astype("Int64").to_numpy(), "cell": df["cell"].to_numpy(),
                        "state": df["state"].to_numpy()})
    for p in study.axes:
        out[p] = df.get(p, pd.Series("", index=df.index)).to_numpy()
    for h in study.searched:
        out[h] = [study.runs[r].data.params.get(h, "") for r in df["run_id"]]
    metrics = metric_columns(df, study.objectives)
    for m in metrics:
        for k in (m, m + LOW, m + HIGH, floor_key(m), floor_key(m) + LOW, floor_key(m) + HIGH, gap_key(m)):
            if k in df:
                out[k] = df[k].to_numpy()
    for k in (COPYING, COLLAPSED, INTENSITY, "n_samples", "n_heldout_movies", *COMPUTE):
        out[k] = df.get(k, pd.Series(np.nan, index=df.index)).to_numpy()
    out["max_seconds"] = [_number(study.runs[r].data.params.get("max_seconds")) if r in study.runs
                          else np.nan for r in df["run_id"]]
    if len(study.objectives) > 1:
        out["pareto_rank"] = pareto_ranks(out, study.objectives)
    out["failure_reason"], out["mlflow_run_id"] = df["reason"].to_numpy(), df["run_id"].to_numpy()
    out = out.assign(_done=~done).sort_values(["rank", "_done", "trial"], na_position="last")
    out = out.drop(columns="_done").reset_index(drop=True)
    out.attrs["metrics"] = metrics
    return out


def _number(text) -> float:
    try:
        return float(text)
    except (TypeError, ValueError):  # "None", absent: no budget in seconds
        return np.nan


def _span(values, unit: str = "", digits: int = 3) -> str:
    lo, hi = float(np.nanmin(values)), float(np.nanmax(values))
    one = lambda v: f"{v:,.{digits}g}" if abs(v) < 100 else f"{v:,.0f}"  # noqa: E731
    return f"{one(lo)}{unit}" if lo == hi else f"{one(lo)}–{one(hi)}{unit}"


def budget_statement(board: pd.DataFrame) -> str:
    """One sentence on whether the complete trials had equal compute (Lucic et al. 2018: GAN
    variants compared at unequal cost mislead): the budget they shared, and what it bought."""
    done = board[board["state"] == "complete"] if len(board) else board
    if not len(done) or done["steps_done"].isna().all():
        return "The trials' compute was not logged (runs from before compute logging)."
    bought = (f"they took {_span(done['steps_done'])} steps, saw {_span(done['images_seen'])} images "
              f"and used {_span(done['train_gflops'])} GFLOPs (an estimate: convolutions and matrix "
              "products, forward and backward)")
    seconds = done["max_seconds"]
    if seconds.notna().all() and seconds.nunique() == 1:
        return (f"Equal compute: every trial trained for {seconds.iloc[0]:g} s of training steps on "
                f"the same machine setting; {bought}.")
    if seconds.isna().all() and done["steps_done"].nunique() == 1:
        return (f"Equal steps, not equal compute: every trial ran {int(done['steps_done'].iloc[0])} "
                f"steps, which took {_span(done['train_seconds'], ' s')} and {_span(done['train_gflops'])} "
                "GFLOPs; a variant that costs more per step had more compute (give budget.seconds "
                "to compare at equal cost).")
    return f"Budgets differ between trials: compare with care; {bought}."


def seed_summary(board: pd.DataFrame, objectives) -> pd.DataFrame:
    """Mean, SD and count of each objective over replicate seeds, per grid point without its
    seed (``SEED_KEYS``), from the complete rows of :func:`leaderboard`."""
    keys = [k for k in SEED_KEYS if k in board]
    metrics = [m for m, _ in objectives if m in board]
    ok = board[board["state"] == "complete"] if "state" in board else board
    if ok.empty or not metrics or not keys:
        return pd.DataFrame(columns=keys)
    agg = ok.groupby(keys)[metrics].agg(["mean", "std", "count"])
    agg.columns = [f"{m}_{s}" for m, s in agg.columns]
    return agg.reset_index()


def parameter_table(board: pd.DataFrame, axes, searched) -> pd.DataFrame:
    """The varying parameters of the complete rows: grid axes, one ``op_<name>`` yes/no flag per
    op that some pipelines use (then the pipeline column itself is left out: the flags say it
    better) and the searched hyperparameters (floats)."""
    table = pd.DataFrame({p: board[p].astype(str) for p in axes if p in board})
    if "pipeline" in table:
        used = [set(Pipeline.parse(p).ops()) for p in table["pipeline"]]  # each row's ops
        for op in sorted(set().union(*used)):
            table[op_flag(op)] = ["yes" if op in u else "no" for u in used]
    for h in searched:
        table[h] = pd.to_numeric(board[h], errors="coerce")
    table = table.loc[:, table.nunique() > 1]
    if any(c.startswith("op_") for c in table) and "pipeline" in table:
        table = table.drop(columns="pipeline")
    return table


def _eta_squared(y: np.ndarray, groups: pd.Series) -> float:
    total = ((y - y.mean()) ** 2).sum()
    if total == 0 or groups.nunique() < 2:
        return 0.0
    between = sum(len(g) * (g.mean() - y.mean()) ** 2 for _, g in pd.Series(y).groupby(groups.values))
    return float(between / total)


def _fanova(table: pd.DataFrame, y: np.ndarray, direction: str) -> dict[str, float]:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=direction)
    dists = {c: (FloatDistribution(table[c].min(), table[c].max())
                 if table[c].dtype.kind == "f" else CategoricalDistribution(sorted(table[c].unique())))
             for c in table}
    for (_, prm), value in zip(table.iterrows(), y):
        study.add_trial(optuna.trial.create_trial(params=prm.to_dict(), distributions=dists,
                                                  value=float(value)))
    return optuna.importance.get_param_importances(
        study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))


def importances(board: pd.DataFrame, objectives, axes, searched) -> pd.DataFrame:
    """Rows ``(objective, param, importance, method, n_trials)``, most important first per
    objective; parameters that never varied are left out."""
    rows = []
    for metric, direction in objectives:
        done = board[(board["state"] == "complete") & board[metric].notna()] if metric in board else board[:0]
        table, y = parameter_table(done, axes, searched), done[metric].to_numpy(float) if len(done) else []
        scores, method = None, "fanova"
        if len(done) >= MIN_TRIALS_FANOVA and table.shape[1]:
            try:
                scores = _fanova(table, y, direction)
            except (RuntimeError, ValueError):
                scores = None
        if scores is None:
            method = "eta2"
            scores = {c: _eta_squared(y, table[c].astype(str)) for c in table} if len(done) > 1 else {}
        rows += [{"objective": metric, "param": k, "importance": float(v), "method": method,
                  "n_trials": len(done)}
                 for k, v in sorted(scores.items(), key=lambda kv: -kv[1])]
    return pd.DataFrame(rows, columns=["objective", "param", "importance", "method", "n_trials"])
