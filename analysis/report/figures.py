"""Matplotlib figures of the report, returned as base64 PNG data URIs (inlined in the page)."""
from __future__ import annotations

import base64
import io
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def png_uri(raw: bytes) -> str:
    """PNG bytes as ``data:image/png;base64,...``."""
    return "data:image/png;base64," + base64.b64encode(raw).decode()


def png_bytes(fig, dpi: int = 90) -> bytes:
    """A figure as PNG bytes; the figure is closed."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def data_uri(fig, dpi: int = 90) -> str:
    """A figure as ``data:image/png;base64,...``; the figure is closed."""
    return png_uri(png_bytes(fig, dpi))


def tile_uri(img: np.ndarray, scale: int = 2) -> str:
    """One (H, W) float [0, 1] frame as an 8-bit grayscale PNG data URI, upscaled ``scale``×."""
    import cv2
    u8 = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)
    u8 = cv2.resize(u8, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
    ok, buf = cv2.imencode(".png", u8)
    return png_uri(buf.tobytes())


def pareto_png(x, y, front, labels, xobj, yobj, floor_x=None, floor_y=None) -> bytes:
    """PNG: scatter of trials in two objectives (``xobj``/``yobj``: ``(metric, direction)``)
    with the Pareto front (``front``: (N,) bool mask) joined and the floors dotted."""
    x, y, front = np.asarray(x, float), np.asarray(y, float), np.asarray(front, bool)
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    ax.scatter(x[~front], y[~front], c="0.6", s=22, label="dominated")
    order = np.argsort(x[front])
    ax.plot(x[front][order], y[front][order], "o-", c="C3", ms=6, label="Pareto front")
    for xi, yi, lab in zip(x, y, labels):
        ax.annotate(lab, (xi, yi), fontsize=6, xytext=(3, 3), textcoords="offset points")
    if floor_x is not None:
        ax.axvline(floor_x, ls=":", c="C0", label="floor (median)")
    if floor_y is not None:
        ax.axhline(floor_y, ls=":", c="C0")
    better = {"minimize": "lower is better", "maximize": "higher is better"}
    ax.set_xlabel(f"{xobj[0]} ({better[xobj[1]]})")
    ax.set_ylabel(f"{yobj[0]} ({better[yobj[1]]})")
    ax.legend(fontsize=7)
    ax.set_title(f"N = {len(x)} complete trials", fontsize=9)
    return png_bytes(fig, dpi=110)


def importance_figure(importances: dict[str, float], target: str, method: str) -> str:
    names = list(importances)[::-1]
    fig, ax = plt.subplots(figsize=(5.2, 0.35 * len(names) + 1.0))
    ax.barh(names, [importances[n] for n in names], color="C2")
    ax.set_xlabel(f"importance for {target} ({'fANOVA' if method == 'fanova' else 'eta²'})")
    return data_uri(fig)


def loss_grid(panels: dict, keys: list[str]) -> str:
    """Loss curves on a grid: one panel per ``(pipeline, variant)``.

    ``panels[(pipeline, variant)]`` (``tables.variant_label``) is a list of ``(label, {key: [(step, value)]}, diverged)``.
    A diverged run ends in a red ✕ at its last logged step.
    """
    n = len(panels)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.8 * rows), squeeze=False)
    for ax, ((pipe, gan), runs) in zip(axes.flat, sorted(panels.items())):
        for r, (label, curves, diverged) in enumerate(runs):
            for j, key in enumerate(keys):
                pts = curves.get(key) or []
                if not pts:
                    continue
                s, v = zip(*pts)
                ax.plot(s, v, ls=("-", "--", ":", "-.")[j % 4], c=f"C{r % 10}", lw=1,
                        label=f"{label} {key}")
                if diverged:
                    ax.plot(s[-1], v[-1], "x", c="red", ms=9, mew=2)
        title = f"{gan} | {pipe}"
        ax.set_title(title if len(title) < 60 else title[:57] + "…", fontsize=8)
        ax.set_xlabel("step", fontsize=7)
        ax.tick_params(labelsize=6)
        ax.legend(fontsize=5, ncol=2)
    for ax in axes.flat[n:]:
        ax.axis("off")
    fig.suptitle("losses per variant × pipeline (red ✕ = diverged)", fontsize=9)
    fig.tight_layout()
    return data_uri(fig)


def distributions_figure(real, fake, features: list[str], fake_label: str) -> str:
    """Histograms of morphology features, real vs generated (``real``/``fake``: DataFrames)."""
    cols = min(4, len(features))
    rows = math.ceil(len(features) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.3 * rows), squeeze=False)
    for ax, f in zip(axes.flat, features):
        r, g = real[f].dropna().to_numpy(float), fake[f].dropna().to_numpy(float)
        both = np.concatenate([r, g])
        bins = np.histogram_bin_edges(both, bins=20) if len(both) and np.ptp(both) > 0 else 10
        ax.hist(r, bins=bins, alpha=0.55, density=True, label=f"real (N={len(r)})", color="C0")
        ax.hist(g, bins=bins, alpha=0.55, density=True, label=f"{fake_label} (N={len(g)})",
                color="C3")
        ax.set_title(f, fontsize=8)
        ax.tick_params(labelsize=6)
    axes.flat[0].legend(fontsize=6)
    for ax in axes.flat[len(features):]:
        ax.axis("off")
    fig.tight_layout()
    return data_uri(fig)
