"""Sections that look at frames: samples, the real-or-fake quiz, mode collapse and
memorization, morphology distributions, attribution."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd

from analysis.intensity import INTENSITY_STATS
from analysis.memorization import nearest_train
from analysis.morphology import morphology_table
from analysis.report import figures
from analysis.report.sections import Missing, ReportContext, register_section
from analysis.report.tables import arrow, fmt, metric_cell, variant_label
from preprocessing.physical import PHYSICAL_COLUMNS

N_TILES = 8
TOP_K = 3


def _tiles(imgs: np.ndarray) -> list[str]:
    """(N, 1, S, S) float [0, 1] → data URIs, upscaled so 32-px frames are visible."""
    scale = max(1, 96 // imgs.shape[-1])
    return [figures.tile_uri(im[0], scale) for im in imgs]


def spread(x: np.ndarray, k: int) -> np.ndarray:
    """``k`` frames evenly spaced over ``x`` (N, ...): neighbouring frames of a movie look alike."""
    return x[np.linspace(0, len(x) - 1, min(k, len(x))).astype(int)]


def _label(ctx: ReportContext, run_id: str) -> str:
    row = ctx.trial_row(run_id)
    t = row.get("trial")
    return f"#{int(t)} {variant_label(row)}" if t is not None and not pd.isna(t) else run_id[:8]


@register_section("samples", "Samples of the top trials next to real frames", 60)
def samples(ctx: ReportContext) -> dict:
    ranked = ctx.study.ranked()
    if not len(ranked):
        raise Missing("no complete trial yet")
    rows, why = [], []
    for rid in ranked["run_id"].iloc[:TOP_K]:
        try:
            train, _ = ctx.real(rid)
            rows.append({"label": _label(ctx, rid), "run_id": rid,
                         "pipeline": ctx.study.runs[rid].data.params.get("pipeline", ""),
                         "real": _tiles(spread(train, N_TILES)),
                         "fake": _tiles(ctx.fake(rid, N_TILES))})
        except Missing as err:
            why.append(str(err))
    if not rows:
        raise Missing(f"cannot sample the top trials: {why[0]}")
    return {"rows": rows}


def _judge_picks(ctx: ReportContext, rid: str) -> list[str]:
    """PNG artifacts of ``mitogan judge`` on the best run (most-real / most-fake frames)."""
    paths = [p for p in ctx.study.artifacts(rid)
             if p.endswith(".png") and ("judge" in p.lower() or "which" in p.lower())]
    return [figures.png_uri(ctx.study.download(rid, p).read_bytes()) for p in paths[:2]]


@register_section("quiz", "Real or fake?", 70)
def quiz(ctx: ReportContext) -> dict:
    rid = ctx.best()
    train, held = ctx.real(rid)
    real = held if len(held) >= N_TILES else train
    real = real[np.random.default_rng(ctx.seed).permutation(len(real))[:N_TILES]]
    fake = ctx.fake(rid, N_TILES, offset=1)      # not the frames shown in "samples"
    labels = np.array(["real"] * len(real) + ["generated"] * len(fake))
    order = np.random.default_rng(ctx.seed).permutation(len(labels))   # fixed-seed shuffle
    tiles = _tiles(np.concatenate([real, fake])[order])
    metrics = ctx.trial_row(rid)
    c2st = {k: fmt(metrics.get(k)) for k in ("c2st_acc", "floor_c2st_acc") if k in metrics}
    try:
        picks = _judge_picks(ctx, rid)
    except Exception:  # noqa: BLE001 - the judge's picks are optional
        picks = []
    return {"tiles": list(zip(tiles, labels[order])), "label": _label(ctx, rid),
            "c2st": c2st, "picks": picks}


# the protocol's memorisation and collapse metrics (analysis.protocol.measures), and its flags
_MEMO_KEYS = ("copy_fraction", "copy_auc", "vendi_ratio")
_FLAGS = ("copying", "collapsed")


@register_section("memorization", "Mode collapse and memorization", 80)
def memorization(ctx: ReportContext) -> dict:
    rid = ctx.best()
    row = ctx.trial_row(rid)
    metrics = [(f"{k} {arrow(k)}", metric_cell(row, k)) for k in _MEMO_KEYS if pd.notna(row.get(k))]
    flags = [(k, "yes" if row[k] == 1 else "no") for k in _FLAGS if pd.notna(row.get(k))]
    out = {"flags": flags, "label": _label(ctx, rid), "metrics": metrics, "pairs": None, "pairs_missing": None}
    try:
        train, _ = ctx.real(rid)
        fake = ctx.fake(rid, N_TILES)
        ext = ctx.extractor()
        idx, dist = nearest_train(ext.features(fake), ext.features(train))
        out["pairs"] = [(f, t, fmt(float(d))) for f, t, d in
                        zip(_tiles(fake), _tiles(train[np.asarray(idx)]), dist)]
        out["extractor"] = ext.name
    except Missing as err:
        out["pairs_missing"] = str(err)
    if not metrics and out["pairs"] is None:
        raise Missing(f"no diversity/memorization metrics logged and {out['pairs_missing']}")
    return out


def morphology_tables(ctx: ReportContext, rid: str):
    """Morphology tables of up to 256 held-out frames of run ``rid`` (a seeded sample over all its
    held-out movies) and as many of its samples."""
    def make():
        _, held = ctx.real(rid)
        if not len(held):
            raise Missing("the run has no held-out frames")
        n = min(len(held), 256)
        pick = np.sort(np.random.default_rng(ctx.seed).choice(len(held), n, replace=False))  # all movies
        return morphology_table(held[pick, 0]), morphology_table(ctx.fake(rid, n)[:, 0])
    return ctx.memo(("morphology", rid), make)


@register_section("morphology", "Morphology: real vs generated", 90)
def morphology(ctx: ReportContext) -> dict:
    rid = ctx.best()
    real_df, fake_df = morphology_tables(ctx, rid)
    n = len(real_df)
    feats = [c for c in real_df.columns
             if c in fake_df and pd.api.types.is_numeric_dtype(real_df[c])][:16]
    if not feats:
        raise Missing("the morphology table has no numeric features")
    label = _label(ctx, rid)
    row = ctx.trial_row(rid)
    logged = [(f"median {name}", f"{name}_median") for name, _ in PHYSICAL_COLUMNS.values()] + [
        (what, stat) for stat, what in INTENSITY_STATS.items()]  # what evaluate logged, µm first
    um = [(what, fmt(row.get(f"real_{key}")), fmt(row.get(f"fake_{key}")))
          for what, key in logged if pd.notna(row.get(f"real_{key}"))]
    return {"img": figures.distributions_figure(real_df, fake_df, feats, label),
            "label": label, "n": n, "um": um}


@register_section("attribution", "Attribution: what the discriminator found salient", 100)
def attribution(ctx: ReportContext) -> dict:
    """``mitogan explain`` outputs (``explain.json`` + ``summary.csv`` + PNG overlays) of the
    best-ranked run that has them."""
    for rid in ctx.study.ranked()["run_id"]:
        paths = ctx.study.artifacts(rid)
        doc = next((p for p in paths if p.endswith("explain.json")), None)
        if doc is None:
            continue
        folder = doc.rsplit("/", 1)[0] if "/" in doc else ""
        summary = json.loads(ctx.study.download(rid, doc).read_text()).get("summary", [])
        cols = list(summary[0]) if summary else []
        pngs = [p for p in paths if p.endswith(".png") and p.startswith(folder)][:6]
        return {"label": _label(ctx, rid), "columns": cols,
                "rows": [[fmt(r.get(c)) for c in cols] for r in summary[:20]],
                "imgs": [(p.rsplit("/", 1)[-1], figures.png_uri(ctx.study.download(rid, p)
                                                               .read_bytes())) for p in pngs]}
    raise Missing("no trial has `mitogan explain` outputs (explain.json); run it on the best run")
