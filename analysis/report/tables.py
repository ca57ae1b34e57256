"""The study's table sections: overview, leaderboard, Pareto front, parameter importances and
the summary over replicate seeds. Each carries its table as ``files`` (CSV) besides what the
page shows, so the CSV, the Markdown summary and the HTML are renderings of one section."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.metrics import floor_key
from analysis.report import board, figures
from analysis.report.sections import Missing, ReportContext, register_section

_BOARD_META = {"pareto_rank", "trial", "cell", "state", "n_real", "n_fake", "failure_reason",
               "mlflow_run_id"}


def floor_of(metric: str, columns) -> str | None:
    """The column holding the real-vs-real floor of ``metric``, if logged."""
    key = floor_key(metric)
    return key if key in columns else None


def fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)


def trial_label(row) -> str:
    """``#<trial number>`` (or the run id's start when the run has no trial tag)."""
    t = row.get("trial")
    rid = row.get("run_id", row.get("mlflow_run_id", ""))
    return f"#{int(t)}" if t is not None and not pd.isna(t) else str(rid)[:6]


def _board(ctx: ReportContext) -> pd.DataFrame:
    return ctx.memo("board", lambda: board.leaderboard(ctx.study))


def _metrics(df: pd.DataFrame, ctx: ReportContext) -> list[str]:
    """The board's metric columns (each is followed by its floor column)."""
    searched = set(ctx.study.searched)
    return [c for c in df.columns if c not in _BOARD_META and c not in ctx.study.axes
            and c not in searched and not c.startswith("floor_")]


@register_section("overview", "Overview", 10)
def overview(ctx: ReportContext) -> dict:
    st = ctx.study
    counts = st.trials["state"].value_counts().to_dict() if len(st.trials) else {}
    out = {"counts": counts, "n": len(st.trials), "objectives": st.objectives, "best": None}
    ranked = st.ranked()
    if len(ranked):
        row = ranked.iloc[0].to_dict()
        out["best"] = {"label": trial_label(row), "run_id": row["run_id"],
                       "settings": {p: row.get(p, "") for p in st.axes},
                       "metrics": [(m, fmt(row.get(m)), fmt(row.get(floor_of(m, ranked.columns))))
                                   for m, _ in st.objectives if m in row]}
    return out


@register_section("leaderboard", "Leaderboard", 20)
def leaderboard(ctx: ReportContext) -> dict:
    df = _board(ctx)
    if not len(df):
        raise Missing("the study has no trial runs yet")
    cols = _metrics(df, ctx)
    params = [p for p in ctx.study.axes if p != "dataset"]
    rows = []
    for _, r in df.iterrows():
        cells = [{"text": fmt(r.get(c)), "sort": "" if pd.isna(r.get(c)) else float(r[c]),
                  "floor": fmt(r.get(floor_key(c)))} for c in cols]
        trial = None if pd.isna(r.get("trial")) else int(r["trial"])
        rows.append({"label": trial_label(r), "trial": trial, "state": r["state"],
                     "reason": r.get("failure_reason") or "", "run_id": r["mlflow_run_id"],
                     "params": [str(r.get(p, "")) for p in params], "cells": cells})
    return {"columns": cols, "rows": rows, "params": params,
            "files": {"leaderboard.csv": df}, "table": df}


@register_section("pareto", "Pareto front of the objectives", 30)
def pareto(ctx: ReportContext) -> dict:
    objectives = ctx.study.objectives
    if len(objectives) < 2:
        raise Missing("the study has a single objective: no front to draw")
    (x, dx), (y, dy) = objectives[:2]
    df = _board(ctx)
    if x not in df or y not in df:
        raise Missing(f"no trial has {x} and {y} (run evaluate)")
    df = df[(df["state"] == "complete") & df[x].notna() & df[y].notna()]
    if len(df) < 2:
        raise Missing(f"needs at least 2 complete trials with {x} and {y} (have {len(df)})")
    labels = [trial_label(r) for _, r in df.iterrows()]
    front = (df["pareto_rank"] == 1).to_numpy()
    fx, fy = floor_key(x), floor_key(y)
    png = figures.pareto_png(df[x], df[y], front, labels, (x, dx), (y, dy),
                             df[fx].median() if fx in df else None, df[fy].median() if fy in df else None)
    return {"img": figures.png_uri(png), "front": [lab for lab, f in zip(labels, front) if f],
            "files": {"pareto.png": png}}


@register_section("importances", "Parameter importances", 40)
def importances(ctx: ReportContext) -> dict:
    df = _board(ctx)
    if not len(df):
        raise Missing("the study has no trial runs yet")
    imp = board.importances(df, ctx.study.objectives, ctx.study.axes, ctx.study.searched)
    first = imp[imp["objective"] == ctx.study.objectives[0][0]]
    if first.empty:
        raise Missing(f"needs ≥ 2 complete trials that differ in some parameter (have "
                      f"{int((df['state'] == 'complete').sum())} complete trials)")
    scores = dict(zip(first["param"], first["importance"]))
    method = first["method"].iloc[0]
    return {"img": figures.importance_figure(scores, first["objective"].iloc[0], method),
            "target": first["objective"].iloc[0], "method": method,
            "items": [(k, fmt(v)) for k, v in scores.items()], "n": int(first["n_trials"].iloc[0]),
            "files": {"importance.csv": imp}, "table": imp}


@register_section("seeds", "Over replicate seeds", 45)
def seeds(ctx: ReportContext) -> dict:
    df = _board(ctx)
    summary = board.seed_summary(df, ctx.study.objectives) if len(df) else pd.DataFrame()
    if summary.empty:
        raise Missing("no complete trial yet")
    return {"columns": list(summary.columns),
            "rows": [[fmt(v) for v in r] for r in summary.itertuples(index=False)],
            "files": {"seeds.csv": summary}, "table": summary}
