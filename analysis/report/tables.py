"""Sections built from run records alone: overview, leaderboard, Pareto front, parameter
importances, loss curves, provenance."""
from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd

from analysis.report import figures
from analysis.report.sections import Missing, ReportContext, register_section
from bench.study.config import GRID_AXES
from bench.study.report import non_dominated

_ROW_KEYS = {"trial", "run_id", "state", "reason", "cell", *GRID_AXES}
_DISTANCE = ("common_morph_fd", "morph_fd")
_COVERAGE = ("common_coverage", "coverage")


def floor_of(metric: str, columns) -> str | None:
    """The column holding the real-vs-real floor of ``metric``, if logged."""
    cands = [f"floor_{metric}", metric.replace("common_", "common_floor_", 1),
             metric.replace("_acc", "_floor")]
    return next((c for c in cands if c != metric and c in columns), None)


# Not headline numbers: confidence bounds, spreads, counts, real-side references, per-feature
# distances (the morphology section shows those).
_DETAIL = ("_ci_", "_std", "wd_", "n_fake", "n_real", "_real")


def metric_columns(df: pd.DataFrame, objectives) -> list[str]:
    """Leaderboard columns: objectives, then common-space metrics, then own-space metrics that
    have a real-vs-real floor, then the judge's accuracy and utility gains."""
    cols = [m for m, _ in objectives if m in df]
    groups: list[list[str]] = [[], [], []]
    for c in sorted(df.columns):
        if (c in cols or c in _ROW_KEYS or c.startswith("floor_") or "_floor" in c
                or any(d in c for d in _DETAIL)):
            continue
        if c.startswith("common_"):
            groups[0].append(c)
        elif floor_of(c, df.columns):
            groups[1].append(c)
        elif c == "c2st_acc" or c.startswith("utility_gain"):
            groups[2].append(c)
    return cols + [c for g in groups for c in g]


def fmt(v) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "–"
    return f"{v:.4g}" if isinstance(v, (float, np.floating)) else str(v)


def trial_label(row) -> str:
    """``#<trial number>`` (or the run id's start when the run has no trial tag)."""
    t = row.get("trial")
    return f"#{int(t)}" if t is not None and not pd.isna(t) else str(row["run_id"])[:6]


@register_section("overview", "Overview", 10)
def overview(ctx: ReportContext) -> dict:
    st = ctx.study
    counts = st.trials["state"].value_counts().to_dict() if len(st.trials) else {}
    out = {"counts": counts, "n": len(st.trials), "objectives": st.objectives, "best": None}
    ranked = st.ranked()
    if len(ranked):
        row = ranked.iloc[0].to_dict()
        out["best"] = {"label": trial_label(row), "run_id": row["run_id"],
                       "settings": {p: row.get(p, "") for p in GRID_AXES},
                       "metrics": [(m, fmt(row.get(m)), fmt(row.get(floor_of(m, ranked.columns))))
                                   for m, _ in st.objectives if m in row]}
    return out


@register_section("leaderboard", "Leaderboard", 20)
def leaderboard(ctx: ReportContext) -> dict:
    df = ctx.study.trials
    if not len(df):
        raise Missing("the study has no trial runs yet")
    cols = metric_columns(df, ctx.study.objectives)
    floors = {c: floor_of(c, df.columns) for c in cols}
    params = [p for p in GRID_AXES if p != "dataset"]
    rows = []
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r.get(c)
            fl = floors[c]
            cells.append({"text": fmt(v), "sort": "" if v is None or pd.isna(v) else float(v),
                          "floor": fmt(r.get(fl)) if fl else None})
        rows.append({"label": trial_label(r), "trial": r.get("trial"), "state": r["state"],
                     "reason": r.get("reason") or "", "run_id": r["run_id"],
                     "params": [str(r.get(p, "")) for p in params], "cells": cells})
    return {"columns": cols, "rows": rows, "params": params}


def _pick(df: pd.DataFrame, names) -> str:
    col = next((c for c in names if c in df and df[c].notna().any()), None)
    if col is None:
        raise Missing(f"no trial has any of {', '.join(names)} (run evaluate)")
    return col


@register_section("pareto", "Pareto front: morphology distance vs coverage", 30)
def pareto(ctx: ReportContext) -> dict:
    df = ctx.study.complete()
    x, y = _pick(df, _DISTANCE), _pick(df, _COVERAGE)
    df = df[df[x].notna() & df[y].notna()]
    if len(df) < 2:
        raise Missing(f"needs at least 2 complete trials with {x} and {y} (have {len(df)})")
    fx, fy = floor_of(x, df.columns), floor_of(y, df.columns)
    labels = [trial_label(r) for _, r in df.iterrows()]
    # lower is better in both columns: the distance, and the coverage negated
    front = non_dominated(np.column_stack([df[x].to_numpy(float), -df[y].to_numpy(float)]))
    uri = figures.pareto_figure(df[x], df[y], front, labels, x, y,
                                df[fx].median() if fx else None, df[fy].median() if fy else None)
    return {"img": uri, "front": [lab for lab, f in zip(labels, front) if f]}


def _searched(ctx: ReportContext) -> list[str]:
    """Searched hyperparameter names from the parent run's ``study.json``, if logged."""
    parent = ctx.study.parent
    try:
        doc = json.loads(ctx.study.download(parent.info.run_id, "study.json").read_text())
        return list(doc.get("search", {}).get("params", {}))
    except Exception:  # noqa: BLE001 - no study.json: grid parameters only
        return []


@register_section("importances", "Parameter importances", 40)
def importances(ctx: ReportContext) -> dict:
    import optuna
    from optuna.distributions import CategoricalDistribution, FloatDistribution
    metric, direction = next(((m, d) for m, d in ctx.study.objectives if m in ctx.study.trials),
                             (None, None))
    if metric is None:
        raise Missing("no trial has the study's first objective yet")
    df = ctx.study.complete()
    df = df[df[metric].notna()]
    runs = ctx.study.runs
    table = pd.DataFrame({p: df[p].astype(str) for p in GRID_AXES})
    used = [{o.split("(")[0] for o in p.split("|")} for p in table["pipeline"]]   # each row's ops
    for op in sorted(set().union(*used) - {""}):
        # which preprocessing op mattered: its presence as a yes/no parameter
        table[f"op:{op}"] = ["yes" if op in u else "no" for u in used]
    for h in _searched(ctx):
        table[h] = [float(runs[r].data.params.get(h, "nan")) for r in df["run_id"]]
    table = table.loc[:, table.nunique() > 1]
    if len(df) < 3 or table.shape[1] == 0:
        raise Missing(f"needs ≥ 3 complete trials that differ in some parameter "
                      f"(have {len(df)} trials, {table.shape[1]} varying parameters)")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction=direction)
    dists = {c: (FloatDistribution(table[c].min(), table[c].max())
                 if table[c].dtype.kind == "f" else CategoricalDistribution(sorted(table[c].unique())))
             for c in table}
    for (_, prm), value in zip(table.iterrows(), df[metric]):
        study.add_trial(optuna.trial.create_trial(params=prm.to_dict(), distributions=dists,
                                                  value=float(value)))
    imp = optuna.importance.get_param_importances(
        study, evaluator=optuna.importance.FanovaImportanceEvaluator(seed=0))
    return {"img": figures.importance_figure(imp, metric), "target": metric,
            "items": [(k, fmt(v)) for k, v in imp.items()], "n": len(df)}


def is_diverged(reason: str) -> bool:
    """Whether a failure reason is a divergence (``bench.train``: non-finite losses or a
    saturated discriminator), not an interrupt or an error."""
    r = reason.lower()
    return any(w in r for w in ("diverg", "non-finite", "saturated"))


@register_section("losses", "Loss curves", 50)
def losses(ctx: ReportContext) -> dict:
    st = ctx.study
    keys = sorted({k for r in st.runs.values() for k in r.data.metrics if k.startswith("loss")})
    if not keys or not len(st.trials):
        raise Missing("no loss_* metrics logged by the trial runs")
    panels: dict = {}
    for _, row in st.trials.iterrows():
        curves = {k: st.history(row["run_id"], k) for k in keys}
        panels.setdefault((row.get("pipeline", ""), row.get("gan", "")), []).append(
            (trial_label(row), curves, is_diverged(row.get("reason") or "")))
    return {"img": figures.loss_grid(panels, keys), "keys": keys}


@register_section("provenance", "Provenance", 110)
def provenance(ctx: ReportContext) -> dict:
    st = ctx.study
    items: dict[str, set] = {}

    def add(key, value):
        if value not in (None, ""):
            items.setdefault(key, set()).add(str(value))
    for r in st.runs.values():
        for k, v in {**r.data.params, **r.data.tags}.items():
            lk = k.lower()
            if ("hash" in lk or "extractor" in lk or "git" in lk or lk in ("python", "platform")
                    or lk.startswith(("prov.", "version."))):
                add(k, v)
        for p in ("dataset", "pipeline", "gan"):
            add(f"{p}s used", r.data.params.get(p))
    for rid in st.complete()["run_id"]:      # the feature extractor named by `evaluate`
        try:
            doc = json.loads(st.download(rid, "evaluation/evaluation.json").read_text())
        except Exception:  # noqa: BLE001 - a run evaluated by an older version: nothing to add
            continue
        add("extractor (evaluate)", doc.get("extractor"))
        add("extractor weights sha256", doc.get("extractor_weights_sha256"))
    if not items:
        raise Missing("no provenance parameters or tags logged")
    return {"rows": sorted((k, ", ".join(sorted(v))) for k, v in items.items())}
