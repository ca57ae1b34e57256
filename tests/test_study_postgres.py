"""Studies on PostgreSQL with several worker processes: each cell once, a SIGKILLed worker's trial
retried through the heartbeat. Needs ``MITOGAN_TEST_PG_URL`` (``source .ci/postgres.sh``)."""
from __future__ import annotations

import os
import re
import signal
import time
import uuid

import optuna
import pytest
from mlflow.tracking import MlflowClient

from bench.study import grid
from bench.study.storage import open_storage
from tests.conftest import (assert_nothing_running, child_runs, local_uri, mitogan, tiny_study,
                            wait_for_training)

PG_URL = os.environ.get("MITOGAN_TEST_PG_URL")
pytestmark = [pytest.mark.postgres, pytest.mark.skipif(
    not PG_URL, reason="MITOGAN_TEST_PG_URL is unset: `source .ci/postgres.sh` starts a throwaway PostgreSQL")]


def run_two_workers(study_dir, name: str, steps: int):
    path = tiny_study(study_dir / f"{name}.yaml", name, budget={
        "steps": steps, "size": 32, "batch": 8, "n_eval_samples": 32})
    proc = mitogan("study", "--config", str(path), "--workers", "2", "--storage", PG_URL,
                   "--tracking-uri", local_uri(study_dir), "--heartbeat", "1", cwd=study_dir)
    return path, proc


def load(name: str):
    return optuna.load_study(study_name=name, storage=open_storage(PG_URL))


def test_two_workers_run_each_cell_once(study_dir):
    name = f"pg2w-{uuid.uuid4().hex[:8]}"
    _, proc = run_two_workers(study_dir, name, steps=12)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    study = load(name)
    trials = study.get_trials()
    assert len(trials) == 4 and {t.state.name for t in trials} == {"COMPLETE"}
    assert len({t.user_attrs["cell"] for t in trials}) == 4
    assert len({t.user_attrs["worker"] for t in trials}) == 2  # both workers took cells
    client = MlflowClient(local_uri(study_dir))
    assert len(child_runs(client, study)) == 4
    assert_nothing_running(client, study)


def test_sigkilled_worker_trial_is_retried(study_dir):
    name = f"pgkill-{uuid.uuid4().hex[:8]}"
    _, proc = run_two_workers(study_dir, name, steps=60)
    wait_for_training(study_dir, name)
    study = load(name)
    deadline = time.monotonic() + 60
    while True:  # a trial mid-training: its parameters are set (a just-claimed one has none yet)
        running = [t for t in study.get_trials(states=(optuna.trial.TrialState.RUNNING,)) if t.params]
        if running or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    victim = running[0]
    os.kill(int(victim.user_attrs["worker"].rsplit(":", 2)[1]), signal.SIGKILL)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    assert "report:" in out
    trials = study.get_trials()
    final = grid.final_trials(study)
    assert len(final) == 4 and {t.state.name for t in final.values()} == {"COMPLETE"}
    lost = [t for t in trials if t.state == optuna.trial.TrialState.FAIL]
    assert [t.number for t in lost] == [victim.number]
    retry = [t for t in trials if t.system_attrs.get("failed_trial") == victim.number]
    assert len(retry) == 1 and retry[0].state.name == "COMPLETE"
    assert retry[0].user_attrs["cell"] == victim.user_attrs["cell"]
    assert retry[0].params == {k: v for k, v in victim.params.items()}
    client = MlflowClient(local_uri(study_dir))
    killed = [r for r in child_runs(client, study) if r.data.tags["mitogan.trial"] == str(victim.number)]
    assert len(killed) == 1 and killed[0].info.status == "KILLED"
    # closed by the study's orphan sweep ("worker lost"), by the runner that saw its worker die
    # ("worker process lost: ... killed by signal SIGKILL") or, first, by the run-owner check of
    # the next training on this host (bench.ownership: "owner process host:pid:start is gone")
    reason = killed[0].data.tags["failure_reason"]
    assert re.search(r"worker (process )?lost|owner process \S+:\d+:\d+ is gone", reason), reason
    assert_nothing_running(client, study)
