"""``explain_discriminator``: which geometric features a discriminator's logit depends on,
scored against a randomized-weights null, with a sanity check and a causal blur check."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch import nn
from tqdm.auto import tqdm

from analysis.attribution import scores
from analysis.attribution.causal import causal_check
from analysis.attribution.methods import DEFAULT_METHODS, get_method
from analysis.attribution.null import SANITY_RHO_MAX, cascading_randomization, randomized, spearman_maps
from analysis.morphology import geometric_masks
from bench.errors import MitoError
from bench.workspace import atomic_write

MASK_KEYS = ("foreground", "boundary", "skeleton", "branch_points", "tips", "thick", "thin",
             "beads", "background")


@dataclass
class ExplainResult:
    """What ``explain_discriminator`` found.

    Attributes
    ----------
    table : DataFrame, one row per (source, method, feature): ``area_share``, ``enrichment``
        (+ ``_lo``/``_hi`` 95% CI), ``null_enrichment`` (+ CI), ``over_null`` (+ CI),
        ``support`` (fraction of frames with the feature), ``rank`` (1 = most enriched over
        the null within source x method; NaN below ``min_support``), ``unique`` (+ CI) and
        ``unique_rank``: excess density the feature adds beyond the overlapping masks, trained
        minus null (``scores.unique_excess``), ``sanity_rho``,
        ``sanity_pass``, ``causal_effect`` (+ CI, ``causal_n``; for ``causal.CAUSAL_FEATURES``).
    summary : DataFrame, one row per (source, feature): medians across methods that pass the
        sanity check (``n_methods`` of them), ``rank`` by ``unique``, ``marginal_rank`` by
        ``over_null`` (see :func:`summarize`).
    sanity : DataFrame, (method, step, layer, rho): cascading randomization curve.
    causal : DataFrame, one row per (source, feature) of the blur check.
    maps : dict "source/method" -> (N, H, W) float32 trained |attribution|.
    frames : dict source -> (N, H, W) float32 in [0, 1].
    figures : dict name -> matplotlib Figure.
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    sanity: pd.DataFrame
    causal: pd.DataFrame
    maps: dict = field(repr=False)
    frames: dict = field(repr=False)
    figures: dict = field(default_factory=dict, repr=False)

    def save(self, out_dir: str | os.PathLike) -> list[Path]:
        """Write tables (CSV + one JSON) and figures (PNG) into ``out_dir``; each file is
        written to a temporary name and renamed, so no half-written file is left."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        written = []

        def put(name: str, write) -> None:
            written.append(atomic_write(out / name, write))

        for name in ("table", "summary", "sanity", "causal"):
            df = getattr(self, name)
            put(f"{name}.csv", lambda p, df=df: df.to_csv(p, index=False))
        doc = {n: json.loads(getattr(self, n).to_json(orient="records"))
               for n in ("table", "summary", "sanity", "causal")}
        put("explain.json", lambda p: Path(p).write_text(json.dumps(doc, indent=1)))
        for name, fig in self.figures.items():
            put(f"{name}.png", lambda p, fig=fig: fig.savefig(p, format="png", dpi=110))
        return written


def _check_frames(arr, where: str) -> np.ndarray:
    a = np.asarray(arr, dtype=np.float32)
    if a.ndim != 4 or a.shape[1] != 1 or a.shape[2] != a.shape[3]:
        raise MitoError(where, f"expected frames (N, 1, S, S), got shape {a.shape}")
    if len(a) < 2:
        raise MitoError(where, f"need at least 2 frames for confidence intervals, got {len(a)}")
    if not np.isfinite(a).all() or a.min() < -1e-4 or a.max() > 1 + 1e-4:
        raise MitoError(where, "frames must be finite and in [0, 1] (convert from [-1, 1] "
                               "with (x + 1) / 2)")
    return np.clip(a, 0, 1)


def compute_masks(frames: np.ndarray) -> dict[str, np.ndarray]:
    """``geometric_masks`` for every frame: (N, H, W) float [0, 1] -> name -> (N, H, W) bool."""
    per = [geometric_masks(f) for f in frames]
    return {k: np.stack([np.asarray(p[k], bool) for p in per]) for k in MASK_KEYS}


def attribute_batched(D: nn.Module, x: torch.Tensor, method: str, *, batch: int, seed: int,
                      desc: str = "", progress: bool = True) -> np.ndarray:
    """Run one registered method over ``x`` (N, 1, H, W) in [-1, 1] in chunks of ``batch``
    frames -> (N, H, W) float32 maps. Seeded per chunk so results do not depend on order."""
    m = get_method(method)
    chunks = []
    for i, start in enumerate(tqdm(range(0, len(x), batch), desc=desc, disable=not progress,
                                   leave=False)):
        torch.manual_seed(seed + i)
        chunks.append(m.attribute(D, x[start:start + batch]).numpy())
    return np.concatenate(chunks)


def _sanity_cascade(D, x, methods, seed, batch, progress) -> pd.DataFrame:
    """Rank correlation of trained vs top-k-randomized maps for each k (a few frames)."""
    trained = {m: attribute_batched(D, x, m, batch=batch, seed=seed, progress=False) for m in methods}
    rows = []
    cascade = tqdm(cascading_randomization(D, seed), desc="sanity cascade", disable=not progress,
                   leave=False)
    for step, (layer, Dk) in enumerate(cascade, start=1):
        for m in methods:
            rk = attribute_batched(Dk, x, m, batch=batch, seed=seed, progress=False)
            rows.append({"method": m, "step": step, "layer": layer,
                         "rho": float(np.mean(spearman_maps(trained[m], rk)))})
    return pd.DataFrame(rows)


def explain_discriminator(D: nn.Module, real, fake=None, methods=DEFAULT_METHODS, seed: int = 0,
                          *, batch: int = 16, n_boot: int = 1000, n_sanity: int = 8,
                          min_support: float = 0.5, causal: bool = True, figures: bool = True,
                          progress: bool = True) -> ExplainResult:
    """Attribute a discriminator's logit to geometric features of real and generated frames.

    Parameters
    ----------
    D : nn.Module
        Discriminator: (N, 1, S, S) float32 in [-1, 1] -> (N,) logit; must have ``last_conv``
        for Grad-CAM. Put in eval mode; its weights are not touched (the null is a copy).
    real, fake : array-like (N, 1, S, S) float32 **in [0, 1]** (held-out real frames and
        generated frames, as ``prepare``/``sample`` return them); mapped to [-1, 1] here.
        ``fake`` may be None.
    methods : names from ``analysis.attribution.list_methods()``.
    seed : seeds the null network, SmoothGrad noise, bootstrap and causal controls.
    batch : frames per attribution call. n_boot : bootstrap resamples for CIs.
    n_sanity : real frames used for the full cascading-randomization curve.
    min_support : a feature present in fewer than this fraction of frames is scored but not
        ranked (``rank`` NaN): a ratio from a handful of frames is noise.

    Returns
    -------
    ExplainResult
    """
    methods = [get_method(m).name for m in methods]  # validates names early
    sources = {"real": _check_frames(real, "real")}
    if fake is not None:
        sources["fake"] = _check_frames(fake, "fake")
    D = D.eval()
    D_null = randomized(D, seed)
    rows, causal_rows, maps, frames = [], [], {}, {}
    for src, arr in sources.items():
        x = torch.from_numpy(arr) * 2 - 1  # (N, 1, S, S) in [-1, 1]
        frames[src] = arr[:, 0]
        masks = compute_masks(arr[:, 0])
        idx = scores.bootstrap_indices(len(arr), n_boot, seed)
        design = scores.design(masks, idx)  # mask-only: shared by every method and the null
        for m in methods:
            tm = attribute_batched(D, x, m, batch=batch, seed=seed, desc=f"{src} {m}", progress=progress)
            nm = attribute_batched(D_null, x, m, batch=batch, seed=seed, desc=f"{src} {m} null",
                                   progress=progress)
            maps[f"{src}/{m}"] = tm
            rho = float(np.mean(spearman_maps(tm, nm)))
            st_t, st_n = scores.mask_stats(tm, masks), scores.mask_stats(nm, masks)
            uniq = scores.unique_excess(design, scores.design_moments(tm, design),
                                        scores.design_moments(nm, design))
            for feat in MASK_KEYS:
                u, u_lo, u_hi = uniq.get(feat, (np.nan,) * 3)
                e, e_lo, e_hi = scores.enrichment(*st_t[feat], idx)
                ne, ne_lo, ne_hi = scores.enrichment(*st_n[feat], idx)
                r, r_lo, r_hi = scores.enrichment_over_null(st_t[feat], st_n[feat], idx)
                rows.append({"source": src, "method": m, "feature": feat,
                             "area_share": float(st_t[feat][1].mean()),
                             "support": float((st_t[feat][1] > 0).mean()),
                             "enrichment": e, "enrichment_lo": e_lo, "enrichment_hi": e_hi,
                             "null_enrichment": ne, "null_lo": ne_lo, "null_hi": ne_hi,
                             "over_null": r, "over_null_lo": r_lo, "over_null_hi": r_hi,
                             "unique": u, "unique_lo": u_lo, "unique_hi": u_hi,
                             "sanity_rho": rho, "sanity_pass": bool(rho <= SANITY_RHO_MAX)})
        if causal:
            for feat, c in causal_check(D, x, masks, n_boot=n_boot, seed=seed).items():
                causal_rows.append({"source": src, "feature": feat, **c})
    table = pd.DataFrame(rows)
    # A feature seen in a handful of frames gets a large, meaningless ratio: not ranked.
    rankable = table["over_null"].where(table["support"] >= min_support)
    by = [table["source"], table["method"]]
    table["rank"] = rankable.groupby(by).rank(ascending=False, method="min")
    table["unique_rank"] = (table["unique"].where(table["support"] >= min_support)
                            .groupby(by).rank(ascending=False, method="min"))
    causal_df = pd.DataFrame(causal_rows, columns=["source", "feature", "delta_feature",
                                                   "delta_random", "effect", "effect_lo",
                                                   "effect_hi", "n"])
    table = table.merge(causal_df.rename(columns={"effect": "causal_effect", "effect_lo": "causal_lo",
                                                  "effect_hi": "causal_hi", "n": "causal_n"})
                        [["source", "feature", "causal_effect", "causal_lo", "causal_hi", "causal_n"]],
                        on=["source", "feature"], how="left")
    table = table.sort_values(["source", "method", "rank"]).reset_index(drop=True)
    sanity = _sanity_cascade(D, torch.from_numpy(sources["real"][:n_sanity]) * 2 - 1, methods, seed,
                             batch, progress) if n_sanity else pd.DataFrame(columns=["method", "step", "layer", "rho"])
    result = ExplainResult(table=table, summary=summarize(table), sanity=sanity, causal=causal_df,
                           maps=maps, frames=frames)
    if figures:
        from analysis.attribution.figures import make_figures
        result.figures = make_figures(result)
    return result


def summarize(table: pd.DataFrame) -> pd.DataFrame:
    """Consensus per (source, feature) over the methods that pass the sanity check (all
    methods, flagged ``all_methods_failed_sanity``, when none pass).

    ``rank`` orders features by the median ``unique`` excess over the null (what a feature
    adds beyond the overlapping masks; features outside ``scores.UNIQUE`` or below
    ``min_support`` get NaN and come last); ``marginal_rank`` by the median ``over_null``."""
    ok = table[table["sanity_pass"]]
    fallback = ok.empty
    use = table if fallback else ok
    g = use.groupby(["source", "feature"], sort=False)
    s = g.agg(unique=("unique", "median"), over_null=("over_null", "median"),
              enrichment=("enrichment", "median"), support=("support", "first"),
              n_methods=("method", "nunique"), causal_effect=("causal_effect", "first"),
              causal_lo=("causal_lo", "first"), causal_hi=("causal_hi", "first")).reset_index()
    s["all_methods_failed_sanity"] = fallback
    ranked = g["rank"].count().to_numpy() > 0  # above min_support
    s["rank"] = s["unique"].where(ranked).groupby(s["source"]).rank(ascending=False, method="min")
    s["marginal_rank"] = (s["over_null"].where(ranked).groupby(s["source"])
                          .rank(ascending=False, method="min"))
    return s.sort_values(["source", "rank", "marginal_rank"]).reset_index(drop=True)
