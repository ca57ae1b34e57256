"""GPU assignment of study workers, without a GPU: the environment each worker process gets."""
from __future__ import annotations

import subprocess

import pytest

from bench.errors import MitoError
from bench.study import gpus, runner
from bench.study.trial import Outcome


def _cards(envs):
    return [e.get("CUDA_VISIBLE_DEVICES") for e in envs]


def test_workers_go_round_robin_over_the_given_cards():
    assert _cards(gpus.worker_envs({}, 5, ["0", "1"])) == ["0", "1", "0", "1", "0"]
    assert _cards(gpus.worker_envs({}, 2, ["3"])) == ["3", "3"]
    assert _cards(gpus.worker_envs({}, 2, [])) == ["", ""]  # --gpus none: CPU workers


def test_default_is_every_card_of_the_parents_mask(monkeypatch):
    # a scheduler gave this job cards 2 and 5 (or UUIDs): workers split exactly those
    assert _cards(gpus.worker_envs({"CUDA_VISIBLE_DEVICES": "2,5"}, 3, None)) == ["2", "5", "2"]
    uuids = {"CUDA_VISIBLE_DEVICES": "GPU-aa,GPU-bb"}
    assert _cards(gpus.worker_envs(uuids, 2, None)) == ["GPU-aa", "GPU-bb"]
    # --gpus indices count within that mask, as torch's cuda:i do
    assert _cards(gpus.worker_envs({"CUDA_VISIBLE_DEVICES": "2,5"}, 2, ["1"])) == ["5", "5"]
    monkeypatch.setattr(gpus, "visible_count", lambda: 0)  # this machine: no CUDA
    assert _cards(gpus.worker_envs({"PATH": "/bin"}, 2, None)) == [None, None]  # left alone
    monkeypatch.setattr(gpus, "visible_count", lambda: 3)
    assert _cards(gpus.worker_envs({}, 4, None)) == ["0", "1", "2", "0"]


def test_gpus_option_is_checked_before_work(monkeypatch):
    monkeypatch.setattr(gpus, "visible_count", lambda: 2)
    assert gpus.parse_gpus("0,1") == ["0", "1"] and gpus.parse_gpus("none") == []
    assert gpus.parse_gpus(None) is None
    for bad, msg in (("0,0", "distinct"), ("0,,1", "distinct"), ("2", "no GPU 2")):
        with pytest.raises(MitoError, match=msg):
            gpus.parse_gpus(bad)


def test_spawned_workers_get_their_card(monkeypatch, tmp_path):
    seen = []

    class Recorder(subprocess.Popen):  # records the environment instead of starting mitogan
        def __init__(self, cmd, env):
            seen.append((cmd, env))

    monkeypatch.setattr(runner.subprocess, "Popen", Recorder)
    target = runner.Target("journal:/x", "sqlite:///y", tmp_path)
    runner._spawn(tmp_path / "s.yaml", target, 3, ["0", "1"])
    assert _cards(e for _, e in seen) == ["0", "1", "0"]
    assert all("--worker" in cmd for cmd, _ in seen)


def test_a_worker_prints_one_line_per_trial(monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "1")
    out = Outcome("COMPLETE", "5f2c0d1e9a", [0.4123, 0.7331], timings={"train_s": 30, "eval_s": 11})
    assert runner.trial_line(3, out) == "trial 3 COMPLETE 0.4123, 0.7331 [41 s, run 5f2c0d1e] on GPU 1"
    fail = Outcome("FAIL", None, reason="diverged at step 7")
    assert runner.trial_line(4, fail).startswith("trial 4 FAIL (diverged at step 7)")
