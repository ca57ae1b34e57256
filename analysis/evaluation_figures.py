"""Figures of a run's evaluation: nearest training frames of generated ones, morphology
histograms of real vs generated frames (written to files, logged by ``bench.jobs.evaluate``)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def nearest_grid(fake: np.ndarray, train: np.ndarray, idx: np.ndarray, dist: np.ndarray, path: Path,
                 n: int = 8) -> Path:
    """Figure: the ``n`` generated frames closest to a training frame (top) and those frames (bottom)."""
    order = np.argsort(dist)[:n]
    fig, axes = plt.subplots(2, n, figsize=(1.6 * n, 3.6), squeeze=False)
    for j, i in enumerate(order):
        for row, img in ((0, fake[i, 0]), (1, train[idx[i], 0])):
            axes[row, j].imshow(img, cmap="gray", vmin=0, vmax=1)
            axes[row, j].axis("off")
        axes[0, j].set_title(f"d={dist[i]:.2f}", fontsize=7)
    fig.suptitle(f"generated (top) vs nearest training frame (bottom), N_gen={len(fake)}, "
                 f"N_train={len(train)}", fontsize=8)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def morphology_histograms(real_df, fake_df, path: Path) -> Path:
    """Figure: per-feature histograms of real (held-out) vs generated morphology."""
    cols = list(real_df.columns)
    ncol = 4
    nrow = int(np.ceil(len(cols) / ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(3.2 * ncol, 2.4 * nrow), squeeze=False)
    for ax, col in zip(axes.flat, cols):
        lo = np.nanmin([real_df[col].min(), fake_df[col].min()])
        hi = np.nanmax([real_df[col].max(), fake_df[col].max()])
        bins = np.linspace(lo, hi if hi > lo else lo + 1, 25)
        ax.hist(real_df[col].dropna(), bins=bins, alpha=0.55, density=True, label=f"real N={len(real_df)}")
        ax.hist(fake_df[col].dropna(), bins=bins, alpha=0.55, density=True, label=f"generated N={len(fake_df)}")
        ax.set_title(col, fontsize=8)
    for ax in list(axes.flat)[len(cols):]:
        ax.axis("off")
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
