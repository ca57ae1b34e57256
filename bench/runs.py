"""The one way back into a training run: its config, generator, discriminator, checkpoints and
its real frames split by movie exactly as training split them.

Every job that reads a run (evaluate, judge, utility, explain, generate, the report) opens it
here, so "the run's held-out frames" means the same frames everywhere.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import torch

from bench import tracking
from bench.config import TrainConfig
from bench.errors import MitoError

CKPT_DIR = "checkpoints"


def load_generator(run_id: str, tracking_uri: str | None = None, prefer_ema: bool = True):
    """The generator of a run (EMA weights when kept and ``prefer_ema``), in eval mode on the CPU.

    Returns ``(G, TrainConfig)``; ``MitoError`` when the run or its weights are missing.
    """
    c = tracking.client(tracking_uri)
    tracking.get_run(c, run_id)
    cfg, weights = fetch_checkpoint(
        c, run_id, "generator.pt", f"run {run_id}", "has no config.json / checkpoints/generator.pt "
        "(not a mitogan training run, or it stopped before its first checkpoint)", weights_only=True)
    _, G, _ = cfg.networks()
    G.load_state_dict(weights["EMA"] if prefer_ema and weights["EMA"] is not None else weights["G"])
    return G.eval(), cfg


def fetch_checkpoint(c, run_id: str, ckpt_name: str, where: str, why: str, *,
                     weights_only: bool):
    """``(TrainConfig, state)``: a run's ``config.json`` and ``checkpoints/<ckpt_name>`` loaded
    on the CPU; ``MitoError(where, why)`` when either is missing."""
    with tempfile.TemporaryDirectory(prefix="mitogan-ckpt-") as tmp:
        cfg_path = tracking.download(c, run_id, "config.json", Path(tmp))
        ckpt_path = tracking.download(c, run_id, f"{CKPT_DIR}/{ckpt_name}", Path(tmp))
        if cfg_path is None or ckpt_path is None:
            raise MitoError(where, why)
        cfg = TrainConfig(**json.loads(cfg_path.read_text()))
        return cfg, torch.load(ckpt_path, map_location="cpu", weights_only=weights_only)


def load_discriminator(run_id: str, tracking_uri: str | None = None):
    """The discriminator of a run's last checkpoint, eval mode, CPU.

    Returns
    -------
    (D, G, cfg) : discriminator, generator (EMA when kept) and the run's ``TrainConfig``.
    """
    G, cfg = load_generator(run_id, tracking_uri)
    _, state = fetch_checkpoint(tracking.client(tracking_uri), run_id, "last.pt", f"run {run_id}",
                                f"has no {CKPT_DIR}/last.pt (the discriminator is only in the "
                                "full training checkpoint)", weights_only=True)
    _, _, D = cfg.networks()
    D.load_state_dict(state["trainer"]["D"])
    return D.eval(), G, cfg


def run_frames(cfg: TrainConfig, workspace=None, *, pipeline: str | None = None, dataset=None,
               progress: bool = True):
    """A run's whole data set through its own pipeline (or ``pipeline``, e.g. the common one),
    with the held-out mask of the run's split by movie.

    Returns ``(ds, prep, is_held)``: the ``Dataset`` (``dataset``: the already loaded
    ``cfg.dataset``), the ``Prepared`` set (``.x`` (N, 1, S, S) float32 [0, 1]) and
    ``is_held`` (N,) bool: frame of a held-out movie.
    """
    from preprocessing.dataset import Dataset
    from preprocessing.pipeline import heldout_mask, prepare
    ds = dataset or Dataset.load(cfg.dataset, workspace)
    prep = prepare(ds, pipeline or cfg.pipeline, cfg.size, workspace, progress=progress)
    return ds, prep, heldout_mask(ds, prep, cfg.heldout_fraction, cfg.seed)


def run_split(cfg: TrainConfig, workspace=None, *, pipeline: str | None = None, dataset=None,
              progress: bool = True):
    """A run's real frames split by movie exactly as training split them: ``(train, heldout)``
    :class:`~preprocessing.pipeline.Prepared` sets (see :func:`run_frames`)."""
    _, prep, is_held = run_frames(cfg, workspace, pipeline=pipeline, dataset=dataset,
                                  progress=progress)
    return prep.subset(~is_held), prep.subset(is_held)


def checked_split(run_id: str, cfg: TrainConfig, workspace=None, tracking_uri: str | None = None,
                  dataset=None):
    """:func:`run_split`, refused when its sizes differ from those the run logged when it trained
    (params ``n_train`` / ``n_heldout``): the split rule changed since, and "held-out" frames
    could be frames the generator trained on."""
    train, held = run_split(cfg, workspace, dataset=dataset, progress=False)
    params = tracking.client(tracking_uri).get_run(run_id).data.params
    logged = params.get("n_train"), params.get("n_heldout")
    if None not in logged and (int(logged[0]), int(logged[1])) != (len(train.x), len(held.x)):
        raise MitoError(f"run {run_id}", f"trained on {logged[0]} train / {logged[1]} held-out frames, "
                        f"but its split now gives {len(train.x)} / {len(held.x)}: the split rule "
                        "changed since (by movie label, at least 2 held-out movies, among movies "
                        "with frames); retrain it to score it against movies it never saw")
    return train, held


def heldout_frames(cfg: TrainConfig, workspace, n: int, seed: int) -> np.ndarray:
    """Up to ``n`` held-out real frames (split by movie, as in training), processed by the
    run's own pipeline: (n, 1, S, S) float32 in [0, 1]."""
    _, held = run_split(cfg, workspace)
    if len(held.x) < 2:
        raise MitoError(f"dataset {cfg.dataset}", f"the run has {len(held.x)} held-out frame(s); "
                        "attribution needs held-out real frames (heldout_fraction > 0, >= 2 movies)")
    pick = np.sort(np.random.default_rng(seed).permutation(len(held.x))[:n])
    return held.x[pick]
