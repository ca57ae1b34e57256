"""The grid in Optuna: every cell enqueued exactly once, claimed atomically, searched per cell.

Optuna's ``GridSampler`` may hand one grid point to two workers that ask at the same moment.
Instead, the process that *creates* the study (study creation is atomic in every storage: the
name is unique) enqueues every cell once as a WAITING trial with its grid parameters fixed, then
sets the study attribute ``grid_ready``; other processes wait for it. Workers then claim WAITING
trials with the storage's compare-and-set (WAITING → RUNNING succeeds for one worker only) and
never call ``study.ask()``, which would create a fresh trial when the queue runs dry.
"""
from __future__ import annotations

import time

import optuna
from optuna.distributions import (BaseDistribution, CategoricalDistribution, FloatDistribution,
                                  IntDistribution)
from optuna.samplers import BaseSampler, RandomSampler, TPESampler
from optuna.trial import TrialState

from bench.errors import MitoError
from bench.study.config import Cell, StudyConfig, cells, grid_hash
from preprocessing.pipeline import Pipeline, flagged_op, op_flag

WAIT_FOR_GRID_S = 60


def pipeline_ops(spec: str) -> list[str]:
    return Pipeline.parse(spec).ops()


def grid_space(cfg: StudyConfig) -> dict[str, BaseDistribution]:
    """Distributions of the grid axes, plus one ``op_<name>`` flag per op that some pipelines
    use and others do not (so importance can say which op mattered, not just which pipeline)."""
    space = {"dataset": CategoricalDistribution([d.name for d in cfg.datasets]),
             "pipeline": CategoricalDistribution(cfg.pipelines),
             "gan": CategoricalDistribution(cfg.gans),
             "diffaug": CategoricalDistribution(cfg.diffaug),
             "ada": CategoricalDistribution(cfg.ada),
             "output": CategoricalDistribution(cfg.output),
             "seed": CategoricalDistribution(cfg.seeds)}
    uses = [set(pipeline_ops(p)) for p in cfg.pipelines]
    for op in sorted(set.union(*uses) - set.intersection(*uses)):
        space[op_flag(op)] = CategoricalDistribution([False, True])
    return space


def cell_params(cfg: StudyConfig, cell: Cell, space: dict | None = None) -> dict:
    """The cell's grid parameters and op flags; ``space``: ``grid_space(cfg)`` when the caller
    has it already (it parses every pipeline)."""
    ops = set(pipeline_ops(cell.pipeline))
    flags = {k: flagged_op(k) in ops for k in space or grid_space(cfg) if flagged_op(k)}
    return {**cell.params(), **flags}


def search_space(cfg: StudyConfig) -> dict[str, BaseDistribution]:
    space = {}
    for name, r in cfg.search.params.items():
        if r.choices is not None:
            space[name] = CategoricalDistribution(r.choices)
        elif r.integer:
            space[name] = IntDistribution(int(r.low), int(r.high), log=r.log)
        else:
            space[name] = FloatDistribution(r.low, r.high, log=r.log)
    return space


class CellTPESampler(BaseSampler):
    """TPE over the hyperparameter ranges, conditioned on the trial's own grid point.

    For each trial it replays the completed trials of the same grid point (all search slots)
    into an in-memory study and asks a seeded TPE there, so a ``dcgan`` cell learns only from
    ``dcgan`` trials. Grid axes are fixed by the queue and never reach the sampler.
    """

    def __init__(self, space: dict[str, BaseDistribution], n_startup_trials: int, seed: int = 0):
        self._space = space
        self._n_startup = n_startup_trials
        self._seed = seed

    def infer_relative_search_space(self, study, trial):
        return dict(self._space)

    def sample_relative(self, study, trial, search_space):
        if not search_space:
            return {}
        point = trial.user_attrs.get("grid_point")
        peers = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
                 if t.user_attrs.get("grid_point") == point and set(search_space) <= set(t.params)]
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        shadow = optuna.create_study(directions=study.directions, sampler=TPESampler(
            seed=self._seed + trial.number, n_startup_trials=self._n_startup, multivariate=True))
        for t in peers:
            shadow.add_trial(optuna.trial.create_trial(
                params={k: t.params[k] for k in search_space}, distributions=search_space,
                values=t.values))
        return shadow.ask(search_space).params

    def sample_independent(self, study, trial, param_name, param_distribution):
        # Only reached by a parameter outside the configured ranges (none in a valid study).
        return RandomSampler(seed=self._seed + trial.number).sample_independent(
            study, trial, param_name, param_distribution)


def make_sampler_pruner(cfg: StudyConfig):
    sampler = CellTPESampler(search_space(cfg), cfg.search.n_startup_trials)
    pruner = (optuna.pruners.MedianPruner(n_startup_trials=cfg.pruning.n_startup_trials,
                                          n_warmup_steps=cfg.pruning.n_warmup_steps)
              if cfg.pruning.enabled else optuna.pruners.NopPruner())
    return sampler, pruner


def load(cfg: StudyConfig, storage) -> optuna.Study:
    sampler, pruner = make_sampler_pruner(cfg)
    return optuna.load_study(study_name=cfg.name, storage=storage, sampler=sampler, pruner=pruner)


def setup_study(cfg: StudyConfig, storage, make_parent_run) -> tuple[optuna.Study, bool]:
    """Create the study and enqueue its grid once, or join it; returns ``(study, created)``.

    ``make_parent_run()`` is called by the creating process only and returns the MLflow parent
    run id, stored as the study attribute ``mlflow_parent_run_id``.
    """
    sampler, pruner = make_sampler_pruner(cfg)
    try:
        study = optuna.create_study(study_name=cfg.name, storage=storage, sampler=sampler,
                                    pruner=pruner, directions=cfg.directions)
        created = True
    except optuna.exceptions.DuplicatedStudyError:
        study, created = load(cfg, storage), False
    attrs = study.user_attrs
    if created:
        study.set_user_attr("grid_hash", grid_hash(cfg))
        study.set_user_attr("config", cfg.model_dump(mode="json"))
        study.set_user_attr("mlflow_parent_run_id", make_parent_run())
        enqueue_missing(cfg, study)
        study.set_user_attr("grid_ready", len(cells(cfg)))
        return study, True
    if attrs.get("grid_hash", grid_hash(cfg)) != grid_hash(cfg):
        raise MitoError(f"study {cfg.name}", "exists with a different grid, budget or search space; "
                        "give the changed study a new name")
    if [d.name.lower() for d in study.directions] != cfg.directions:
        raise MitoError(f"study {cfg.name}", "exists with different objective directions")
    deadline = time.monotonic() + WAIT_FOR_GRID_S
    while "grid_ready" not in study.user_attrs:
        if time.monotonic() > deadline:  # the creator died while enqueueing: finish its job
            if "mlflow_parent_run_id" not in study.user_attrs:
                study.set_user_attr("mlflow_parent_run_id", make_parent_run())
            enqueue_missing(cfg, study)
            study.set_user_attr("grid_ready", len(cells(cfg)))
            break
        time.sleep(1.0)
    return study, False


def enqueue_missing(cfg: StudyConfig, study: optuna.Study) -> int:
    """Enqueue every cell that has no trial yet; returns how many were enqueued."""
    have = {t.user_attrs.get("cell") for t in study.get_trials(deepcopy=False)}
    space, n = grid_space(cfg), 0
    for i, cell in enumerate(cells(cfg)):
        if cell.id in have:
            continue
        study.enqueue_trial(cell_params(cfg, cell, space), user_attrs={
            "cell": cell.id, "cell_index": i, "grid_point": cell.id.rsplit("-k", 1)[0],
            "slot": cell.slot})
        n += 1
    return n


def claim(study: optuna.Study) -> optuna.Trial | None:
    """Atomically take one WAITING trial (RUNNING now, owned by the caller), or None."""
    storage = study._storage  # noqa: SLF001 — see the module docstring
    for t in study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
        try:
            if storage.set_trial_state_values(t._trial_id, state=TrialState.RUNNING):
                return optuna.Trial(study, t._trial_id)
        except optuna.exceptions.UpdateFinishedTrialError:
            continue
    return None


def final_trials(study: optuna.Study, trials: list | None = None) -> dict[str, optuna.trial.FrozenTrial]:
    """The trial that stands for each cell: its latest one that ended (retries supersede).

    ``trials``: the study's trials, when the caller has fetched them already.
    """
    out = {}
    for t in study.get_trials(deepcopy=False) if trials is None else trials:
        cell = t.user_attrs.get("cell")
        if cell and t.state.is_finished() and (cell not in out or t.number > out[cell].number):
            out[cell] = t
    return out


def progress(study: optuna.Study) -> dict[str, int]:
    """Counts of cells done and of trials waiting/running (for progress bars and the end test).

    Called every second while a study runs, so the trials are fetched once: a cell is done
    when it has a finished trial and no waiting or running one (a retry is not done yet).
    """
    trials = study.get_trials(deepcopy=False)
    waiting = sum(t.state == TrialState.WAITING for t in trials)
    running = sum(t.state == TrialState.RUNNING for t in trials)
    busy = {t.user_attrs.get("cell") for t in trials if not t.state.is_finished()}
    done = sum(cell not in busy for cell in final_trials(study, trials))
    return {"done": done, "waiting": waiting, "running": running}
