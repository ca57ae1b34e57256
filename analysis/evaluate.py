"""Evaluate a training run: sample its generator, score it in its own space and in the common
space, test memorization against held-out movies, log everything to the run.

* Own space: the run's training frames as its own pipeline made them (``cfg.pipeline``), with
  ``mito-ssl`` features. Keys: ``fid``, ``kid_mean``, ..., ``morph_fd``, ``wd_*``.
* Common space (the same for every run, so runs with different pipelines can be ranked): real
  training frames prepared by the plain ``normalize`` pipeline at the same size, morphology after
  the one fixed segmentation and ``mito-ssl`` features. Keys prefixed ``common_``.
* ``inception_fid``, ``inception_kid_mean``, ... (common space) only when Inception weights are
  on this machine (see :mod:`analysis.extractors.inception`).
* Every metric has its real-vs-real floor: ``floor_<key>`` (mean over splits), ``floor_sd_<key>``.
* Memorization, own space (the generator's output lives there): ``copying_z``, ``copying_p``,
  ``copying``, ``authenticity``, ``birthday_support`` against training / held-out movies.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from analysis import memorization  # noqa: E402
from analysis.compare import compare_arrays, format_table  # noqa: E402
from analysis.extractors import available_extractors, get_extractor  # noqa: E402
from analysis.extractors.cache import cached_features  # noqa: E402

COMMON_PIPELINE = "normalize"
ARTIFACT_DIR = "evaluation"


def _flat(result: dict, prefix: str = "") -> dict:
    out = {f"{prefix}{k}": v for k, v in result["metrics"].items()}
    out.update({f"floor_{prefix}{k}": v for k, v in result["floor"].items()})
    out.update({f"floor_sd_{prefix}{k}": v for k, v in result["floor_sd"].items() if v is not None})
    out[f"{prefix}n_real"], out[f"{prefix}n_fake"] = result["n_real"], result["n_fake"]
    return out


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
    """Figure: per-feature histograms of real (common space) vs generated morphology."""
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


def evaluate_run(run_id: str, *, workspace, tracking_uri: str | None = None, n_samples: int | None = None,
                 log: bool = True, seed: int | None = None, print_table: bool = False) -> dict:
    """Score the generator of ``run_id``; returns flat metrics (own, ``common_``, ``floor_*``).

    ``n_samples`` defaults to the number of real training frames (equal N keeps FID's small-N
    bias the same on both sides of the floor comparison). ``log`` writes metrics, the JSON and
    figures (nearest-neighbour grid, morphology histograms) to the run.
    """
    from bench import tracking
    from bench.train import load_generator, run_split, sample
    from preprocessing.dataset import Dataset

    G, cfg = load_generator(run_id, tracking_uri)
    ds = Dataset.load(cfg.dataset, workspace)
    own_tr, own_he = run_split(cfg, workspace, dataset=ds, progress=False)
    com_tr, _ = run_split(cfg, workspace, dataset=ds, pipeline=COMMON_PIPELINE, progress=False)
    m = int(n_samples or len(own_tr.x))
    seed = cfg.seed + 1 if seed is None else seed
    fake = sample(G, m, seed=seed)  # (M, 1, S, S) in [0, 1]
    ex = get_extractor("mito-ssl")
    fake_key = f"run-{run_id}-n{m}-s{seed}"
    own = compare_arrays(own_tr.x, fake, real_movie_ids=own_tr.movie_ids, extractor=ex,
                         workspace=workspace, real_key=own_tr.key, fake_key=fake_key)
    tables: dict = {}
    com = compare_arrays(com_tr.x, fake, real_movie_ids=com_tr.movie_ids, extractor=ex,
                         workspace=workspace, real_key=com_tr.key, fake_key=fake_key, out_tables=tables)
    flat = {**_flat(own), **_flat(com, "common_")}
    if "inception-v3-compat" in available_extractors():  # standard FID/KID too, weights being local
        inc = compare_arrays(com_tr.x, fake, real_movie_ids=com_tr.movie_ids, workspace=workspace,
                             extractor=get_extractor("inception-v3-compat"), real_key=com_tr.key,
                             fake_key=fake_key, morphology_metrics=False, fidelity_only=True)
        for k in ("fid", "kid_mean", "kid_std", "precision", "recall"):
            flat[f"inception_{k}"], flat[f"floor_inception_{k}"] = inc["metrics"][k], inc["floor"][k]

    feats = lambda x, key: cached_features(ex, x, workspace=workspace, prep_key=key)  # noqa: E731
    tr_f, he_f, fk_f = feats(own_tr.x, own_tr.key), feats(own_he.x, own_he.key), feats(fake, fake_key)
    if len(own_he.x) >= 2:
        dc = memorization.data_copying(tr_f, he_f, fk_f)
        flat.update({f"copying_{k}" if k != "copying" else k: v for k, v in dc.items()})
    flat["authenticity"] = memorization.authenticity(tr_f, fk_f)
    bday = memorization.birthday_support(fk_f, tr_f, seed=seed)
    flat["birthday_support"], flat["birthday_lower_bound"] = bday["support"], bday["lower_bound"]
    flat = {k: float(v) for k, v in flat.items()}
    report = {"run_id": run_id, "n_samples": m, "sample_seed": seed, "extractor": ex.name,
              "extractor_weights_sha256": ex.weights_hash, "own_space": {"pipeline": cfg.pipeline, **own},
              "common_space": {"pipeline": COMMON_PIPELINE, **com}, "memorization": {
                  k: flat[k] for k in flat if k.startswith(("copying", "authenticity", "birthday"))}}
    if print_table:
        print(format_table(own, f"run {run_id} own space ({cfg.pipeline})"))
        print(format_table(com, f"run {run_id} common space ({COMMON_PIPELINE})"))
        print("memorization (own space, vs held-out movies): " + ", ".join(
            f"{k}={v:.3g}" for k, v in report["memorization"].items()))
    if log:
        _log(tracking.client(tracking_uri), run_id, flat, report, fake, own_tr.x, tr_f, fk_f, tables)
    return flat


def _log(c, run_id, flat, report, fake, train, tr_f, fk_f, tables) -> None:
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [Metric(k, v, now, 0) for k, v in flat.items() if np.isfinite(v)]
    for i in range(0, len(metrics), 900):  # MLflow's batch limit is 1000 metrics
        c.log_batch(run_id, metrics=metrics[i:i + 900])
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "evaluation.json").write_text(json.dumps(report, indent=2, default=float))
        idx, dist = memorization.nearest_train(fk_f, tr_f)
        nearest_grid(fake, train, idx, dist, d / "nearest_neighbours.png")
        if tables:
            morphology_histograms(tables["real"], tables["fake"], d / "morphology_histograms.png")
        for p in sorted(d.iterdir()):
            c.log_artifact(run_id, str(p), ARTIFACT_DIR)
