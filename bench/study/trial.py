"""One trial: train the cell's GAN (one MLflow child run), evaluate it, return the objectives.

``run_cell`` is the whole per-trial job; the worker loop around it (``bench.study.worker``)
claims the trial, keeps its heartbeat, and records the outcome in Optuna and MLflow.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import optuna

from bench.study.config import Cell, StudyConfig
from bench.study.grid import cell_params, grid_space, search_space

STEPS_CAP = 10_000_000  # a budget in seconds only: the seconds end training, not this
_REFERENCE: dict = {}  # (dataset, pipeline, size, split) → morphology table of held-out frames


@dataclass
class StudyContext:
    """What every trial of a study shares."""
    cfg: StudyConfig
    workspace: Path
    tracking_uri: str
    parent_run_id: str
    experiment_id: str | None = None   # the parent run's MLflow experiment (``runs`` searches it)
    progress: bool = True              # training bars (off in studies: the study draws one bar)


@dataclass
class Outcome:
    """How a trial ended: ``state`` in {COMPLETE, PRUNED, FAIL}; ``values`` for COMPLETE."""
    state: str
    run_id: str | None = None
    values: list[float] | None = None
    reason: str | None = None
    metrics: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)   # seconds in train / evaluate


def suggest(trial: optuna.Trial, cfg: StudyConfig) -> dict:
    """The trial's parameters: grid axes (fixed by the queue) then the searched ranges."""
    params = {name: trial._suggest(name, dist)  # noqa: SLF001 — generic suggest by distribution
              for name, dist in {**grid_space(cfg), **search_space(cfg)}.items()}
    return params


def train_config(cfg: StudyConfig, cell: Cell, hyper: dict):
    """The ``TrainConfig`` of a cell: budget, ``train:`` overrides, cell axes, searched values."""
    from bench.config import TrainConfig
    fields = {**cfg.train, "dataset": cell.dataset, "pipeline": cell.pipeline, "gan": cell.gan,
              "diffaug": cell.diffaug, "ada": cell.ada, "output": cell.output, "seed": cell.seed,
              "size": cfg.budget.size, "max_seconds": cfg.budget.seconds, "batch": cfg.budget.batch,
              "experiment": cfg.experiment, **hyper}
    fields["steps"] = cfg.budget.steps or STEPS_CAP
    if cfg.pruning.enabled:
        fields["eval_every"] = cfg.pruning.every
    return TrainConfig(**fields)


def trial_tags(ctx: StudyContext, trial_number: int, cell: Cell) -> dict[str, str]:
    """The child run's study tags (``train`` adds ``mlflow.parentRunId`` from ``parent_run_id``)."""
    return {"mitogan.study": ctx.cfg.name, "mitogan.trial": str(trial_number),
            "mitogan.trial_key": f"{ctx.cfg.name}:{trial_number}", "mitogan.cell": cell.id,
            "parent_run_id": ctx.parent_run_id}


def _reference_table(ctx: StudyContext, cfg):
    """Morphology of the trial's held-out real frames through its own pipeline (the reference of
    ``evaluate_run``), once per process and (data set, pipeline, size, split)."""
    key = (cfg.dataset, cfg.pipeline, cfg.size, cfg.heldout_fraction, cfg.seed)
    if key not in _REFERENCE:
        from analysis.morphology import morphology_table
        from bench.runs import run_split
        _, held = run_split(cfg, ctx.workspace, progress=False)
        _REFERENCE[key] = morphology_table(held.x[:, 0])  # from (N, 1, S, S)
    return _REFERENCE[key]


def pruning_callback(ctx: StudyContext, trial: optuna.Trial, cell: Cell, cfg):
    """``on_step(step, G)``: report the morphology distance to the held-out frames; prune when told
    to (a point estimate: intervals over movies cost more than a pruning check is worth)."""
    from analysis.metrics.morphology_distance import morph_distances
    from analysis.morphology import morphology_table
    from models.sampling import sample
    real = _reference_table(ctx, cfg)
    n = ctx.cfg.pruning.n_samples

    def on_step(step: int, G) -> None:
        fake = sample(G, n, seed=cell.seed)  # (n, 1, S, S) in [0, 1]; same z every time
        score = float(morph_distances(real, morphology_table(fake[:, 0]))["morph_fd"])
        trial.report(score if math.isfinite(score) else float("inf"), step)
        if trial.should_prune():
            raise optuna.TrialPruned(f"pruned at step {step} (held-out morph_fd {score:.4g})")
    return on_step


def run_cell(cell: Cell, trial: optuna.Trial, ctx: StudyContext) -> Outcome:
    """Train and evaluate one cell as ``trial``; never raises for a diverged or pruned run.

    ``KeyboardInterrupt`` propagates (the worker records it and re-queues the cell).
    """
    from bench.jobs.evaluate import evaluate_run
    from bench.train import train
    params = suggest(trial, ctx.cfg)
    fixed = cell_params(ctx.cfg, cell)
    assert {k: params[k] for k in fixed} == fixed
    hyper = {k: params[k] for k in search_space(ctx.cfg)}
    cfg = train_config(ctx.cfg, cell, hyper)
    on_step = pruning_callback(ctx, trial, cell, cfg) if ctx.cfg.pruning.enabled else None
    t0 = time.perf_counter()
    try:
        res = train(cfg, workspace=ctx.workspace, tracking_uri=ctx.tracking_uri,
                    parent_run_id=ctx.parent_run_id, tags=trial_tags(ctx, trial.number, cell),
                    on_step=on_step, progress=ctx.progress)
    except optuna.TrialPruned as err:
        return Outcome("PRUNED", reason=str(err) or "pruned",
                       timings={"train_s": time.perf_counter() - t0})
    timings = {"train_s": time.perf_counter() - t0}
    if res.status != "FINISHED":
        return Outcome("FAIL", res.run_id, reason=res.failure_reason or f"training {res.status}",
                       timings=timings)
    t1 = time.perf_counter()
    metrics = evaluate_run(res.run_id, workspace=ctx.workspace, tracking_uri=ctx.tracking_uri,
                           n_samples=ctx.cfg.budget.n_eval_samples, log=True)
    timings["eval_s"] = time.perf_counter() - t1
    flat = {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float, np.floating))}
    missing = [o.metric for o in ctx.cfg.objectives if o.metric not in flat]
    if missing and flat.get("verdict_possible") == 0.0:
        return Outcome("FAIL", res.run_id, reason=f"no {', '.join(missing)}: no verdict possible with "
                       f"{flat['n_heldout_movies']:g} held-out and {flat['n_train_movies']:g} train "
                       "movies (an interval over movies needs 2 of each)", metrics=flat, timings=timings)
    if missing:
        return Outcome("FAIL", res.run_id, reason=f"evaluation has no {', '.join(missing)} "
                       f"(it has: {', '.join(sorted(flat))})", metrics=flat, timings=timings)
    values = [flat[o.metric] for o in ctx.cfg.objectives]
    if not all(map(math.isfinite, values)):
        return Outcome("FAIL", res.run_id, reason=f"objective not finite: {values}",
                       metrics=flat, timings=timings)
    return Outcome("COMPLETE", res.run_id, values, metrics=flat, timings=timings)
