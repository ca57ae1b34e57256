"""Optuna storage from a URL, and recovery of trials whose worker is gone.

* ``journal:PATH`` (or a path ending in ``.journal``): Optuna's JournalFileBackend — the
  single-host default (``./mlruns/optuna.journal``), no server needed.
* ``sqlite:///PATH``: RDBStorage on SQLite (single host).
* ``postgresql://user:pw@host:port/db``: RDBStorage for many workers on many machines, with a
  heartbeat: a trial whose worker stops beating for ``grace_period`` seconds is failed by the
  next worker that looks, and re-queued (same cell, same parameters) by
  ``RetryHeartbeatStaleTrialCallback`` (Optuna 5's name for the deprecated
  ``failed_trial_callback=RetryFailedTrialCallback``).

Journal storage has no heartbeat, so a worker records ``host:pid:start-time`` on its trial; on
the same host a RUNNING trial whose process is gone is failed and re-queued the same way.
"""
from __future__ import annotations

import copy
import importlib.util
import signal
import socket
import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

import optuna
from optuna.storages import RDBStorage, RetryHeartbeatStaleTrialCallback
from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock, JournalStorage
from optuna.trial import TrialState

from bench.errors import MitoError, redact
from bench.ownership import alive

DEFAULT_ROOT = Path("mlruns")
MAX_RETRY = 3
ATTEMPT_ATTRS = ("failure_reason", "worker", "timings", "metrics", "mlflow_run_id")


class RetryCell(RetryHeartbeatStaleTrialCallback):
    """Re-queue a lost trial: same cell and parameters, without the lost attempt's own attributes
    (its worker, failure reason, timings), which would otherwise be copied onto the retry."""

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        trial = copy.deepcopy(trial)
        trial.user_attrs = {k: v for k, v in trial.user_attrs.items() if k not in ATTEMPT_ATTRS}
        super().__call__(study, trial)


def _retry_callback() -> RetryCell:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return RetryCell(max_retry=MAX_RETRY)


def default_storage_url(root: Path = DEFAULT_ROOT) -> str:
    return f"journal:{(root / 'optuna.journal').resolve()}"


def open_storage(url: str, heartbeat_s: int = 30) -> optuna.storages.BaseStorage:
    """The Optuna storage behind ``url`` (see the module docstring for the accepted forms)."""
    if url.startswith("journal:") or url.endswith((".journal", ".log")):
        if not url.removeprefix("journal:").strip():  # a blank path names no journal file
            raise MitoError("--storage", "journal: needs a path")
        path = Path(url.removeprefix("journal:")).expanduser().resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path), lock_obj=JournalFileOpenLock(str(path))))
    if url.startswith(("sqlite:", "postgresql", "mysql")):
        url = _with_driver(url)
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        kwargs = ({"connect_args": {"timeout": 60}} if url.startswith("sqlite")
                  else {"pool_pre_ping": True})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            try:
                return RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=heartbeat_s,
                                  grace_period=3 * heartbeat_s,
                                  heartbeat_stale_trial_callback=_retry_callback())
            except Exception as err:  # connection refused, bad credentials, missing driver
                raise MitoError(f"storage {redact(url)}", f"cannot open: {str(err).splitlines()[0]}")
    raise MitoError(f"storage {url}", "expected journal:PATH, sqlite:///PATH or postgresql://...")


def _with_driver(url: str) -> str:
    """``postgresql://`` → ``postgresql+psycopg2://`` unless psycopg 3 is installed.

    SQLAlchemy 2.1 maps a bare ``postgresql://`` to psycopg 3; the project ships psycopg2-binary.
    """
    if url.startswith("postgresql://") and importlib.util.find_spec("psycopg") is None:
        return "postgresql+psycopg2://" + url.removeprefix("postgresql://")
    return url


def _alive(wid: str) -> bool:
    return alive(wid) is not False  # another machine: only the heartbeat can tell


def retry_lost_trials(study: optuna.Study) -> list[int]:
    """Fail and re-queue RUNNING trials whose worker is gone; returns the numbers found lost.

    Heartbeat storages (RDB): Optuna's stale-trial check, whose callback re-queues — it works
    across machines. Journal storage (no heartbeat): trials started on this host by a process
    that no longer exists.
    """
    storage = study._storage  # noqa: SLF001
    if getattr(storage, "get_heartbeat_interval", lambda: None)():
        before = {t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(study)
        return sorted(t.number for t in study.get_trials(deepcopy=False, states=(TrialState.FAIL,))
                      if t.number in before)
    return [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if (wid := t.user_attrs.get("worker")) and not _alive(wid)
            and mark_failed(study, t, f"worker process lost: {wid} is no longer running "
                            "(killed, out of memory, or crashed; see that worker's stderr)")]


def exit_reason(returncode: int) -> str:
    """``-11`` → ``killed by signal SIGSEGV (a native crash)``; ``3`` → ``exited with code 3``."""
    if returncode >= 0:
        return f"exited with code {returncode}"
    try:
        name = signal.Signals(-returncode).name
    except ValueError:
        name = str(-returncode)
    hint = {"SIGSEGV": " (a native crash)", "SIGFPE": " (a native arithmetic error)",
            "SIGABRT": " (aborted)", "SIGKILL": " (killed, e.g. out of memory)",
            "SIGBUS": " (a native crash)", "SIGILL": " (a native crash)"}.get(name, "")
    return f"killed by signal {name}{hint}"


def fail_trials_of(study: optuna.Study, pid: int, returncode: int) -> list[int]:
    """Fail and re-queue the RUNNING trials of a worker process that just ended, saying how."""
    host = socket.gethostname()
    return [t.number for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
            if (wid := t.user_attrs.get("worker", "")).startswith(f"{host}:{pid}:")
            and mark_failed(study, t, f"worker process lost: {wid} {exit_reason(returncode)}")]


def mark_failed(study: optuna.Study, trial: optuna.trial.FrozenTrial, reason: str) -> bool:
    """Fail a RUNNING trial with ``reason`` and queue a copy (same cell and parameters).

    Returns False when another process finished or failed it first (nothing is done then).
    """
    storage = study._storage  # noqa: SLF001 — the storage API is public, the attribute is not
    try:
        storage.set_trial_user_attr(trial._trial_id, "failure_reason", reason)
        if not storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL):
            return False
    except optuna.exceptions.UpdateFinishedTrialError:
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        _retry_callback()(study, storage.get_trial(trial._trial_id))
    return True


@contextmanager
def heartbeat(storage: optuna.storages.BaseStorage, trial_id: int):
    """Beat for ``trial_id`` in a background thread while the block runs (heartbeat storages).

    ``storage`` is the object ``open_storage`` returned (not the study's cached wrapper).
    """
    interval = getattr(storage, "heartbeat_interval", None)
    if not isinstance(storage, RDBStorage) or not interval:
        yield
        return
    stop = threading.Event()

    def beat():
        while True:
            storage.record_heartbeat(trial_id)
            if stop.wait(interval):
                return

    thread = threading.Thread(target=beat, daemon=True, name=f"heartbeat-{trial_id}")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
