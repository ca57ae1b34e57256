"""Train one GAN variant on one preprocessed data set, recorded as one MLflow run.

``train(cfg)`` writes the resolved config into the run before anything else, trains on the
training movies only (``bench.runs.run_split``; held-out movies never enter training), logs metrics,
sample grids and checkpoints as it goes, and always leaves the run in a terminal state:
FINISHED, FAILED (diverged: ``failure_reason`` tag) or KILLED (interrupted or pruned; its last
checkpoint saved, so ``resume_run_id`` continues it exactly).
"""
from __future__ import annotations

import json
import math
import os
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from tqdm import tqdm

from bench import ownership, run_meta, tracking
from bench.compute import Compute
from bench.config import TrainConfig
from bench.errors import MitoError
from bench.runs import CKPT_DIR, fetch_checkpoint, run_split
from bench.threads import apply as apply_threads
from models.amp import check_amp
from models.sampling import generate
from models.trainer import Batches, GANTrainer


@dataclass
class TrainResult:
    run_id: str
    status: str                  # FINISHED | FAILED | KILLED
    failure_reason: str | None
    steps_done: int


class Diverged(Exception):
    """Training diverged (non-finite loss or a saturated discriminator)."""


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise MitoError("--device", f"{name} requested but no CUDA device is available")
    try:
        return torch.device(name)
    except RuntimeError as err:
        raise MitoError("--device", f"bad device {name!r} ({err})") from None


class _StopFlag:
    """SIGINT / SIGTERM set a flag checked between steps; a second signal interrupts at once."""

    def __init__(self):
        self.hit, self._old = None, {}

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.hit is not None:
            raise KeyboardInterrupt
        self.hit = signal.Signals(signum).name

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)



class _Run:
    """The MLflow side of one training session: params, metrics, grids, checkpoints, status."""

    def __init__(self, c, run_id: str, log_batch: int, z_fixed: torch.Tensor):
        self.c, self.run_id, self.z_fixed = c, run_id, z_fixed
        self.metrics = tracking.MetricBuffer(c, run_id, log_batch)
        self.tmp = tempfile.TemporaryDirectory(prefix="mitogan-train-")
        self.step = 0  # last completed step, kept current by the loop
        self.compute = {"train_s": 0.0}  # bench.compute's state: seconds of training (+ FLOPs per step)
        self.monitor = run_meta.start_system_metrics(c, run_id)  # None without psutil

    def grid(self, trainer: GANTrainer, step: int) -> None:
        imgs = generate(trainer.sampler, self.z_fixed)  # (n_grid, 1, S, S) in [0, 1]
        self.c.log_image(self.run_id, tracking.image_grid(imgs), key="samples", step=step)

    def checkpoint(self, trainer: GANTrainer, batches: Batches, step: int, sat_since) -> None:
        d = Path(self.tmp.name)
        torch.save({"step": step, "trainer": trainer.state_dict(), "batches": batches.state_dict(),
                    "sat_since": sat_since, "compute": dict(self.compute)}, d / "last.pt")
        torch.save({"step": step, "G": trainer.G.state_dict(),
                    "EMA": trainer.ema.state_dict() if trainer.ema is not None else None},
                   d / "generator.pt")
        for name in ("last.pt", "generator.pt"):
            tracking.save_artifact(self.c, self.run_id, d / name, CKPT_DIR)
        self.c.set_tag(self.run_id, "mitogan.checkpoint_step", str(step))

    def end(self, status: str, reason: str | None = None) -> None:
        if self.monitor is not None:
            self.monitor.finish()
        self.metrics.flush()
        if reason:
            self.c.set_tag(self.run_id, "failure_reason", reason)
        fig = tracking.loss_curve_figure(self.c, self.run_id, Path(self.tmp.name) / "loss_curves.png")
        self.c.log_artifact(self.run_id, str(fig))
        self.c.set_terminated(self.run_id, status)
        self.tmp.cleanup()


def _start(c, cfg: TrainConfig, ds, parent_run_id, tags, device) -> str:
    """Create the run and write the resolved config, provenance and data hash into it."""
    exp_id = tracking.ensure_experiment(cfg.experiment, c.tracking_uri)
    prov = tracking.provenance()
    all_tags = {"mitogan.gan": cfg.gan, "mitogan.dataset": cfg.dataset,
                ownership.OWNER_TAG: ownership.owner_id(),
                **run_meta.source_tags(prov["git_commit"]), **(tags or {})}
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    name = run_meta.run_name(cfg.gan, cfg.pipeline, cfg.seed, diffaug=cfg.diffaug, ada=cfg.ada,
                             output=cfg.output, ema=cfg.ema)
    run = c.create_run(exp_id, tags=all_tags, run_name=name)
    params = {**cfg.model_dump(), "data_hash": ds.hash, **prov}
    c.log_batch(run.info.run_id, params=[_param(k, v) for k, v in params.items()])
    c.log_dict(run.info.run_id, cfg.model_dump(), "config.json")
    c.set_tag(run.info.run_id, "mitogan.device", _device_name(device))
    run_meta.log_dataset_input(c, run.info.run_id, ds, cfg.pipeline, cfg.size)
    return run.info.run_id


def _device_name(device: torch.device) -> str:
    """``cuda:0 (NVIDIA H200, CUDA_VISIBLE_DEVICES=1)`` or ``cpu``: which card a worker got."""
    if device.type != "cuda":
        return str(device)
    idx = device.index if device.index is not None else torch.cuda.current_device()
    return (f"cuda:{idx} ({torch.cuda.get_device_name(idx)}, "
            f"CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES', 'unset')})")


def _resume(c, run_id: str):
    """Config and last checkpoint of ``run_id`` (``MitoError`` when it cannot be resumed)."""
    ownership.close_stale_runs(c)  # a SIGKILLed owner: its run becomes KILLED, so resumable
    run = tracking.get_run(c, run_id)
    if run.info.status == "FINISHED":
        raise MitoError(f"--resume {run_id}", "the run already FINISHED; start a new run instead")
    ownership.check_resumable(run)
    return fetch_checkpoint(c, run_id, "last.pt", f"--resume {run_id}",
                            "the run has no config.json or no checkpoint to resume from",
                            weights_only=True)


def train(cfg: TrainConfig, *, workspace=None, tracking_uri: str | None = None,
          parent_run_id: str | None = None, tags: dict | None = None, on_step=None,
          resume_run_id: str | None = None, progress: bool = True) -> TrainResult:
    """Train ``cfg`` (or continue run ``resume_run_id``) and record it as one MLflow run.

    Returns a ``TrainResult``; a diverged run returns status FAILED. Interruption (SIGINT,
    SIGTERM, ``KeyboardInterrupt`` from ``on_step``) saves a checkpoint, ends the run KILLED
    and re-raises ``KeyboardInterrupt``; ``optuna.TrialPruned`` from ``on_step`` ends it KILLED
    (``failure_reason=pruned at step N``) and is re-raised.
    """
    from preprocessing.dataset import Dataset
    c = tracking.client(tracking_uri)
    state = None
    if resume_run_id:
        cfg, state = _resume(c, resume_run_id)
    else:
        cfg = cfg.resolved()
        tracking.ensure_experiment(cfg.experiment, c.tracking_uri)  # the store exists from here
        ownership.close_stale_runs(c)  # runs of SIGKILLed trainings on this host: closed KILLED
    device = resolve_device(cfg.device)
    check_amp(cfg.amp, device)
    ds = Dataset.load(cfg.dataset, workspace)
    if resume_run_id:
        run_id = resume_run_id
        logged = c.get_run(run_id).data.params.get("data_hash")
        if logged != ds.hash:
            raise MitoError(cfg.dataset, f"data set changed since run {run_id} (hash {logged} → {ds.hash})")
        c.update_run(run_id, status="RUNNING")
        ownership.claim(c, run_id)
        c.set_tag(run_id, "mitogan.resumed_from_step", str(state["step"]))
    else:
        run_id = _start(c, cfg, ds, parent_run_id, tags, device)
    threads = apply_threads(cfg.threads, cfg.workers)
    z_fixed = torch.randn(cfg.n_grid, cfg.latent_dim, generator=torch.Generator().manual_seed(cfg.seed + 1))
    run = _Run(c, run_id, cfg.log_batch, z_fixed)
    run.step = state["step"] if state else 0
    run.compute.update(state.get("compute", {}) if state else {})
    try:
        with _StopFlag() as stop:
            train_set, held = run_split(cfg, workspace, dataset=ds, progress=progress)
            if not resume_run_id:
                empty = sorted(set(ds.movie_ids) - set(train_set.movie_ids) - set(held.movie_ids))
                if empty:  # said once, at the start: these movies are on neither side of the split
                    tqdm.write(f"{cfg.dataset}: {len(empty)} of {len(ds.movie_ids)} movies have no frame "
                               f"after {cfg.pipeline} and are left out ({', '.join(empty)})")
                c.log_batch(run_id, params=[_param("n_train", len(train_set.x)),
                                            _param("n_heldout", len(held.x)),
                                            _param("n_movies_without_frames", len(empty)),
                                            _param("torch_threads", threads.n),
                                            _param("torch_threads_basis", threads.basis)])
            torch.manual_seed(cfg.seed)  # weight initialisation
            variant, G, D = cfg.networks()
            trainer = GANTrainer(variant, G, D, batch=cfg.batch, latent_dim=cfg.latent_dim,
                                 seed=cfg.seed, lr_g=cfg.lr_g, lr_d=cfg.lr_d, diffaug=cfg.diffaug,
                                 ada_target=cfg.ada_target if cfg.ada else None,
                                 ema_decay=cfg.ema_decay if cfg.ema else None, device=device,
                                 channels_last=cfg.channels_last, fused=cfg.fused, amp=cfg.amp,
                                 compile=cfg.compile)
            x = torch.from_numpy(train_set.x).to(device) * 2 - 1  # (N, 1, S, S) in [-1, 1]
            if cfg.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            batches = Batches(x, cfg.batch, cfg.seed)
            sat_since = None
            if state:
                trainer.load_state_dict(state["trainer"])
                batches.load_state_dict(state["batches"])
                sat_since = state["sat_since"]
            _loop(cfg, trainer, batches, run, stop, on_step, sat_since, progress)
            if cfg.log_model:  # under the flag too: the export takes seconds, and libraries
                from bench.model_log import log_generator  # may swallow a KeyboardInterrupt
                log_generator(c, run_id, trainer.sampler, cfg.seed)
            if stop.hit:  # a signal after the last step's check: still an interrupt
                raise KeyboardInterrupt(stop.hit)
        run.end("FINISHED")
        return TrainResult(run_id, "FINISHED", None, run.step)
    except Diverged as err:
        run.grid(trainer, run.step)
        run.end("FAILED", str(err))
        return TrainResult(run_id, "FAILED", str(err), run.step)
    except KeyboardInterrupt as err:
        run.end("KILLED", f"interrupted at step {run.step}" + (f" ({err})" if str(err) else ""))
        err.run_id = run_id  # for the "continue with --resume RUN_ID" line
        raise
    except BaseException as err:
        if type(err).__name__ == "TrialPruned":
            run.end("KILLED", f"pruned at step {run.step}")
        else:
            run.end("FAILED", f"error at step {run.step}: {type(err).__name__}: {err}"[:4000])
        raise


def _param(key, value):
    """An MLflow param; a dict (``gan_options``) is written as JSON, not as its Python repr."""
    from mlflow.entities import Param
    return Param(key, json.dumps(value) if isinstance(value, dict) else str(value))


def _loop(cfg, trainer, batches, run, stop, on_step, sat_since, progress) -> None:
    """Steps ``run.step+1 ..`` until ``cfg.steps`` or ``cfg.max_seconds`` of training, with
    logging, grids, checkpoints, divergence checks and the compute it took (``bench.compute``)."""
    step = run.step
    imgs_per_step = cfg.batch * trainer.variant.n_critic
    budget = Compute(cfg, run.compute, imgs_per_step)
    bar = tqdm(total=None if cfg.max_seconds else cfg.steps, initial=step, unit="step",
               desc=f"train {cfg.gan}", disable=not progress, dynamic_ncols=True)
    t_last, s_last = time.perf_counter(), step
    try:
        while not budget.spent(step):
            if stop.hit:
                run.checkpoint(trainer, batches, step, sat_since)
                raise KeyboardInterrupt(stop.hit)
            budget.step(trainer, batches)
            step += 1
            run.step = step
            bar.update(1)
            last = budget.spent(step)
            if step % cfg.log_every == 0 or last:
                now = time.perf_counter()
                stats = {**trainer.stats(), **budget.metrics(step)}
                stats["images_per_s"] = imgs_per_step * (step - s_last) / max(now - t_last, 1e-9)
                t_last, s_last = now, step
                run.metrics.add(stats, step)
                bar.set_postfix(loss_d=f"{stats['loss_d']:.3g}", loss_g=f"{stats['loss_g']:.3g}",
                                refresh=False)
                bad = [k for k, v in stats.items() if not math.isfinite(v)]
                if bad:
                    raise Diverged(f"non-finite {', '.join(bad)} at step {step}")
                sat_since = (sat_since if sat_since is not None else step) if trainer.saturated() else None
                if sat_since is not None and step - sat_since >= cfg.saturation_steps:
                    raise Diverged(f"discriminator saturated from step {sat_since} to {step} "
                                   f"(saturation_steps={cfg.saturation_steps})")
            if step % cfg.sample_every == 0 or last:
                run.grid(trainer, step)
            if step % cfg.ckpt_every == 0 or last:
                run.checkpoint(trainer, batches, step, sat_since)
            if on_step is not None and cfg.eval_every and step % cfg.eval_every == 0:
                try:
                    on_step(step, trainer.sampler)
                except KeyboardInterrupt:
                    run.checkpoint(trainer, batches, step, sat_since)
                    raise
    finally:
        bar.close()
