"""``explain_run``: attribution for a tracked training run (its discriminator, its held-out
real frames, its generator's samples), logged back to the run as artifacts under ``explain/``."""
from __future__ import annotations

from pathlib import Path

from analysis.attribution.core import ExplainResult, explain_discriminator
from analysis.attribution.methods import DEFAULT_METHODS
from bench import tracking
from bench.runs import heldout_frames, load_discriminator
from models.sampling import sample

ARTIFACT_DIR = "explain"


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
