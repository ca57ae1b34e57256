"""The study's table sections: overview, leaderboard, Pareto front, parameter importances and
the summary over replicate seeds. Each carries its table as ``files`` (CSV) besides what the
page shows, so the CSV, the Markdown summary and the HTML are renderings of one section."""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from analysis.metrics import floor_key
from analysis.protocol.flat import read_metric
from analysis.protocol.ranking import verdict_word
from analysis.report import board, figures
from analysis.report.sections import Missing, NotApplicable, ReportContext, register_section

def fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)


def arrow(metric: str) -> str:
    """Which way is better: ↓ lower, ↑ higher, ≈ near the floor (density), ≈0.5 (the judge)."""
    from analysis.protocol.measures import METRICS
    if metric in METRICS:
        return {1: "↓", -1: "↑", 0: "≈ floor"}[METRICS[metric]]
    return {"heldout_gap": "↓", "c2st_acc": "≈0.5"}.get(metric, "↑" if metric.startswith("utility_gain") else "")


def with_ci(value, ci) -> str:
    """``0.412 [0.38, 0.45]`` (the value alone without an interval)."""
    return fmt(value) + (f" [{fmt(ci[0])}, {fmt(ci[1])}]" if ci else "")


def metric_cell(row, m: str) -> dict:
    """A metric of a flat row for a table: ``text`` value [95%], ``floor`` floor [95%], ``gap``
    the verdict word and the gap in floor SDs (``beyond floor, +19.7 SD``), ``sort`` the value."""
    r = read_metric(row, m)
    word = "" if r["within"] is None else "within floor" if r["within"] else "beyond floor"
    z = "" if r["gap_z"] is None else f"{r['gap_z']:+.1f} SD"
    return {"text": with_ci(r["value"], r["ci"]), "sort": "" if r["value"] is None else r["value"],
            "floor": "" if r["floor"] is None else with_ci(r["floor"], r["floor_ci"]),
            "gap": ", ".join(w for w in (word, z) if w)}


def variant_label(row) -> str:
    """``dcgan+da+ada+fl``: the variant and its options (DiffAugment, ADA, fluorescence output)
    marked as in cell ids, so rows that differ only in an option are told apart."""
    marks = (("+da", str(row.get("diffaug")) == "True"), ("+ada", str(row.get("ada")) == "True"),
             ("+fl", row.get("output") == "fluorescence"))
    return str(row.get("gan", "")) + "".join(m for m, on in marks if on)


def trial_label(row) -> str:
    """``#<trial number>`` (or the run id's start when the run has no trial tag)."""
    t = row.get("trial")
    rid = row.get("run_id", row.get("mlflow_run_id", ""))
    return f"#{int(t)}" if t is not None and not pd.isna(t) else str(rid)[:6]


def _board(ctx: ReportContext) -> pd.DataFrame:
    return ctx.memo("board", lambda: board.leaderboard(ctx.study))


def param_label(row, name: str) -> str:
    """A grid axis as the report shows it: pipelines by their ops (the CSV has the full spec)."""
    value = str(row.get(name, ""))
    if name == "pipeline" and value:
        from preprocessing.pipeline import Pipeline
        try:
            return Pipeline.parse(value).short()
        except Exception:  # noqa: BLE001 - a label only: show what was logged
            return value
    return value


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
                       "verdict": verdict_word(row),
                       "metrics": [(f"{m} {arrow(m)}", metric_cell(row, m))
                                   for m in board.metric_columns(ranked, st.objectives)]}
    return out


@register_section("leaderboard", "Leaderboard", 20)
def leaderboard(ctx: ReportContext) -> dict:
    df = _board(ctx)
    if not len(df):
        raise Missing("the study has no trial runs yet")
    cols = df.attrs.get("metrics", [])
    params = [p for p in ctx.study.axes if p != "dataset"]
    rows = []
    for _, r in df.iterrows():
        trial = None if pd.isna(r.get("trial")) else int(r["trial"])
        rank = None if pd.isna(r.get("rank")) else int(r["rank"])
        rows.append({"label": trial_label(r), "trial": trial, "state": r["state"], "rank": rank,
                     "verdict": r.get("verdict") or "", "reason": r.get("failure_reason") or "",
                     "run_id": r["mlflow_run_id"], "params": [param_label(r, p) for p in params],
                     "cells": [metric_cell(r, c) for c in cols],
                     "compute": [fmt(r.get(k)) for k in board.COMPUTE[1:]]})
    return {"columns": [{"name": c, "arrow": arrow(c)} for c in cols], "rows": rows, "params": params,
            "budget": board.budget_statement(df), "files": {"leaderboard.csv": df}, "table": df}


@register_section("pareto", "Pareto front of the objectives", 30)
def pareto(ctx: ReportContext) -> dict:
    objectives = ctx.study.objectives
    if len(objectives) < 2:
        raise NotApplicable("the study has a single objective: no front to draw")
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
