"""The worker loop: claim a queued cell, run it, record the outcome; until the queue is empty.

Interruption (Ctrl-C, SIGTERM) fails the current trial with its reason, queues a copy of it
(same cell, same parameters) so that the next ``mitogan study`` run redoes it, closes its MLflow
run as KILLED, and stops the worker: nothing is left RUNNING in Optuna or MLflow.
"""
from __future__ import annotations

import signal
import sys
import time
import traceback

import optuna
from optuna.trial import TrialState

from bench.study import grid, runs
from bench.study.config import Cell, cells
from bench.ownership import owner_id
from bench.study.storage import heartbeat, mark_failed, retry_lost_trials
from bench.study.trial import Outcome, StudyContext, run_cell

POLL_S = 2.0


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signal.Signals(signum).name}")


def install_sigterm() -> None:
    """SIGTERM behaves like Ctrl-C (a cluster scheduler or ``kill`` ends the trial cleanly)."""
    signal.signal(signal.SIGTERM, _raise_interrupt)


def _cell_of(ctx: StudyContext, trial: optuna.Trial) -> Cell:
    index = trial.study._storage.get_trial(trial._trial_id).user_attrs["cell_index"]  # noqa: SLF001
    return cells(ctx.cfg)[index]


def record(study: optuna.Study, trial: optuna.Trial, cell: Cell, out: Outcome,
           ctx: StudyContext) -> None:
    """Outcome → Optuna (state, values, reason, metrics) and → the MLflow child run's tags."""
    for key, value in {"failure_reason": out.reason, "mlflow_run_id": out.run_id,
                       "metrics": out.metrics or None, "timings": out.timings}.items():
        if value:
            trial.set_user_attr(key, value)
    state = {"COMPLETE": TrialState.COMPLETE, "PRUNED": TrialState.PRUNED,
             "FAIL": TrialState.FAIL}[out.state]
    study.tell(trial, out.values if state == TrialState.COMPLETE else None, state=state)
    runs.tag_trial_runs(ctx, trial.number, cell, out.state, out.reason, out.values)


def run_one(study: optuna.Study, storage, trial: optuna.Trial, ctx: StudyContext) -> Outcome:
    """Run a claimed trial to its end and record it; on interrupt, fail + re-queue + re-raise."""
    cell = None
    try:
        with heartbeat(storage, trial._trial_id):
            trial.set_user_attr("worker", owner_id())
            cell = _cell_of(ctx, trial)
            try:
                out = run_cell(cell, trial, ctx)
            except Exception as err:  # a bug or bad data in one cell must not stop the study
                traceback.print_exc(file=sys.stderr)
                out = Outcome("FAIL", reason=f"{type(err).__name__}: {err}")
        record(study, trial, cell, out, ctx)
        return out
    except KeyboardInterrupt as err:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second signal must not cut the cleanup
            signal.signal(sig, signal.SIG_IGN)
        reason = f"interrupted ({err or 'SIGINT'}); re-queued"
        frozen = study._storage.get_trial(trial._trial_id)  # noqa: SLF001
        if mark_failed(study, frozen, reason) and cell is not None:
            runs.tag_trial_runs(ctx, trial.number, cell, "FAIL", reason, None)
        raise


def worker_loop(study: optuna.Study, storage, ctx: StudyContext, *, on_trial=None) -> int:
    """Claim and run queued trials until none is waiting or running anywhere; returns how many
    this worker ran. It waits while other workers still run trials, because a trial whose worker
    dies (SIGKILL, lost machine) is re-queued after its heartbeat goes stale and must be redone.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    n = 0
    while True:
        retry_lost_trials(study)
        runs.close_orphan_runs(ctx, study)
        trial = grid.claim(study)
        if trial is None:
            if not study.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
                return n
            time.sleep(POLL_S)
            continue
        out = run_one(study, storage, trial, ctx)
        n += 1
        if on_trial:
            on_trial(trial.number, out)
