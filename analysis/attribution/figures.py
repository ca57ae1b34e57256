"""Figures for an ``ExplainResult``: heatmap overlays (real | generated), enrichment over the
null with CIs, and the cascading-randomization sanity curve."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")  # figures are written to files; never open a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from analysis.attribution.null import SANITY_RHO_MAX  # noqa: E402

N_SHOW = 4


def overlay_figure(result, n_show: int = N_SHOW):
    """Rows = methods, columns = ``n_show`` real then ``n_show`` generated frames, each a grey
    frame with its |attribution| (normalised per frame) in colour on top."""
    sources = list(result.frames)
    methods = list(dict.fromkeys(k.split("/", 1)[1] for k in result.maps))
    cols = [(s, i) for s in sources for i in range(min(n_show, len(result.frames[s])))]
    fig, axes = plt.subplots(len(methods) + 1, len(cols), squeeze=False,
                             figsize=(1.6 * len(cols), 1.6 * (len(methods) + 1)))
    for c, (src, i) in enumerate(cols):
        img = result.frames[src][i]  # (H, W) [0, 1]
        axes[0, c].imshow(img, cmap="gray", vmin=0, vmax=1)
        axes[0, c].set_title(f"{src} {i}", fontsize=7)
        for r, m in enumerate(methods, start=1):
            a = result.maps[f"{src}/{m}"][i]
            axes[r, c].imshow(img, cmap="gray", vmin=0, vmax=1)
            axes[r, c].imshow(a / (a.max() or 1.0), cmap="inferno", alpha=0.6, vmin=0, vmax=1)
    for r, m in enumerate(["frame"] + methods):
        axes[r, 0].set_ylabel(m, fontsize=8)
    for ax in axes.flat:
        ax.set_xticks([])
        ax.set_yticks([])
    n = {s: len(result.frames[s]) for s in sources}
    fig.suptitle(f"|attribution| of the discriminator logit (N = {n})", fontsize=9)
    fig.tight_layout()
    return fig


PANELS = (("over_null", "enrichment / null", 1.0, "log"),
          ("unique", "unique excess density, trained - null", 0.0, "linear"))


def enrichment_figure(result):
    """Per feature, one bar per method with its 95% bootstrap CI: enrichment over the
    randomized-D null (top) and the unique excess over the overlapping masks (bottom); one
    column per source; methods failing the sanity check drawn hatched."""
    t = result.table
    sources = list(t["source"].unique())
    fig, axes = plt.subplots(len(PANELS), len(sources), squeeze=False,
                             figsize=(6 * len(sources), 3.2 * len(PANELS)))
    for c, src in enumerate(sources):
        d = t[t["source"] == src]
        feats = list(result.summary[result.summary["source"] == src]["feature"])
        methods = list(d["method"].unique())
        w = 0.8 / len(methods)
        for r, (col, label, ref, scale) in enumerate(PANELS):
            ax = axes[r, c]
            for j, m in enumerate(methods):
                dm = d[d["method"] == m].set_index("feature").loc[feats]
                err = np.abs(np.vstack([dm[col] - dm[f"{col}_lo"], dm[f"{col}_hi"] - dm[col]]))
                ax.bar(np.arange(len(feats)) + j * w, dm[col], w, yerr=np.nan_to_num(err),
                       capsize=2, label=m, hatch=None if dm["sanity_pass"].iloc[0] else "//")
            ax.axhline(ref, color="k", lw=0.8)
            ax.set_yscale(scale)
            ax.set_xticks(np.arange(len(feats)) + 0.4 - w / 2, feats, rotation=40, fontsize=7)
            ax.set_title(f"{src} (N = {len(result.frames[src])}): {label}", fontsize=9)
            ax.legend(fontsize=6)
    fig.tight_layout()
    return fig


def sanity_figure(result):
    """Rank correlation of trained vs cascade-randomized maps, top layer first."""
    fig, ax = plt.subplots(figsize=(5, 3))
    s = result.sanity
    for m, d in s.groupby("method", sort=False):
        ax.plot(d["step"], d["rho"], marker="o", label=m)
    if len(s):
        layers = s.drop_duplicates("step").sort_values("step")
        ax.set_xticks(layers["step"], layers["layer"], rotation=40, fontsize=6, ha="right")
    ax.axhline(SANITY_RHO_MAX, color="r", ls="--", lw=0.8, label=f"fail above {SANITY_RHO_MAX}")
    ax.set_ylabel("Spearman rho (trained vs random)")
    ax.set_xlabel("layers randomized, from the top")
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def make_figures(result) -> dict:
    """name -> Figure for everything above."""
    return {"attribution_overlay": overlay_figure(result),
            "enrichment_over_null": enrichment_figure(result),
            "sanity_cascade": sanity_figure(result)}
