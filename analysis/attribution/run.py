"""``explain_run``: attribution for a tracked training run (its discriminator, its held-out
real frames, its generator's samples), logged back to the run as artifacts under ``explain/``."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.attribution.core import ExplainResult, explain_discriminator
from analysis.attribution.methods import DEFAULT_METHODS
from bench.errors import MitoError

ARTIFACT_DIR = "explain"


def load_discriminator(run_id: str, tracking_uri: str | None = None):
    """The discriminator of a run's last checkpoint, eval mode, CPU.

    Returns
    -------
    (D, G, cfg) : discriminator, generator (EMA when kept) and the run's ``TrainConfig``.
    """
    from bench import tracking
    from bench.train import CKPT_DIR, fetch_checkpoint, load_generator
    from models import get_variant

    G, cfg = load_generator(run_id, tracking_uri)
    _, state = fetch_checkpoint(tracking.client(tracking_uri), run_id, "last.pt", f"run {run_id}",
                                f"has no {CKPT_DIR}/last.pt (the discriminator is only in the "
                                "full training checkpoint)", weights_only=True)
    _, D = get_variant(cfg.gan, **cfg.gan_options).build(cfg.size, latent_dim=cfg.latent_dim,
                                                           width=cfg.width)
    D.load_state_dict(state["trainer"]["D"])
    return D.eval(), G, cfg


def heldout_frames(cfg, workspace, n: int, seed: int) -> np.ndarray:
    """Up to ``n`` held-out real frames (split by movie, as in training), processed by the
    run's own pipeline: (n, 1, S, S) float32 in [0, 1]."""
    from bench.train import run_split

    _, held = run_split(cfg, workspace)
    if len(held.x) < 2:
        raise MitoError(f"dataset {cfg.dataset}", f"the run has {len(held.x)} held-out frame(s); "
                        "attribution needs held-out real frames (heldout_fraction > 0, >= 2 movies)")
    pick = np.sort(np.random.default_rng(seed).permutation(len(held.x))[:n])
    return held.x[pick]


def explain_run(run_id: str, *, workspace=None, tracking_uri: str | None = None,
                methods=DEFAULT_METHODS, n_frames: int = 64, seed: int = 0, batch: int = 16,
                log: bool = True, out_dir: str | Path | None = None,
                progress: bool = True) -> ExplainResult:
    """Explain a run's discriminator on ``n_frames`` held-out real and generated frames.

    Parameters
    ----------
    run_id : MLflow run of ``mitogan train``.
    workspace : where the run's data set lives (``bench.workspace.workspace_dir``).
    methods, seed, batch : passed to :func:`explain_discriminator`.
    log : write tables and figures to the run as artifacts under ``explain/`` and set the tags
        ``mitogan.explain.top_<source>`` (the consensus top feature).
    out_dir : also keep the files here.
    """
    from bench import tracking
    from bench.train import sample

    D, G, cfg = load_discriminator(run_id, tracking_uri)
    real = heldout_frames(cfg, workspace, n_frames, seed)  # (n, 1, S, S) in [0, 1]
    fake = sample(G, len(real), seed=seed)  # same count: enrichment CIs comparable
    result = explain_discriminator(D, real, fake, methods=methods, seed=seed, batch=batch,
                                   progress=progress)
    if out_dir is not None:
        result.save(out_dir)
    if log:
        tracking.log_to_run(run_id, tracking_uri, {}, ARTIFACT_DIR, result.save)
        c = tracking.client(tracking_uri)
        top = result.summary.dropna(subset=["rank"]).groupby("source").first()["feature"]
        for src, feat in top.items():
            c.set_tag(run_id, f"mitogan.explain.top_{src}", feat)
    return result
