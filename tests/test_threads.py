"""Each training takes its share of the cores it may use: affinity, cgroup quota, workers."""
from __future__ import annotations

import pytest
import torch

from bench import threads
from bench.threads import cgroup_quota, choose_threads, worker_env
from bench import tracking
from bench.train import train
from tests.test_train import _cfg, env  # noqa: F401


def _cgroup(tmp_path, files: dict[str, str], proc: str):
    tmp_path.mkdir(parents=True, exist_ok=True)
    for rel, text in files.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    (tmp_path / "proc").write_text(proc)
    return cgroup_quota(tmp_path, tmp_path / "proc")


def test_cgroup_quota_v2_and_v1(tmp_path):
    assert _cgroup(tmp_path / "a", {"job/cpu.max": "150000 100000\n"}, "0::/job\n") == 1.5
    assert _cgroup(tmp_path / "b", {"job/cpu.max": "max 100000\n"}, "0::/job\n") is None
    v1 = {"cpu,cpuacct/k8s/cpu.cfs_quota_us": "300000\n", "cpu,cpuacct/k8s/cpu.cfs_period_us": "100000\n"}
    assert _cgroup(tmp_path / "c", v1, "4:cpu,cpuacct:/k8s\n0::/\n") == 3.0
    v1["cpu,cpuacct/k8s/cpu.cfs_quota_us"] = "-1\n"
    assert _cgroup(tmp_path / "d", v1, "4:cpu,cpuacct:/k8s\n") is None
    assert _cgroup(tmp_path / "e", {}, "0::/\n") is None  # no controller files at all


@pytest.fixture
def eight_cores(monkeypatch):
    monkeypatch.setattr(threads.os, "sched_getaffinity", lambda pid: set(range(8)))
    monkeypatch.setattr(threads, "cgroup_quota", lambda *a: None)
    monkeypatch.delenv(threads.WORKERS_ENV, raising=False)


def test_threads_are_the_share_of_usable_cores(eight_cores, monkeypatch):
    assert choose_threads().n == 8
    assert choose_threads(workers=3).n == 2 and "/ 3 workers (--workers)" in choose_threads(workers=3).basis
    assert choose_threads(workers=20).n == 1  # never 0
    assert choose_threads(threads=5, workers=4).n == 5  # --threads wins
    monkeypatch.setenv(threads.WORKERS_ENV, "4")  # what `mitogan study --workers 4` exports
    assert choose_threads().n == 2 and "$MITOGAN_WORKERS" in choose_threads().basis
    monkeypatch.setattr(threads, "cgroup_quota", lambda *a: 2.5)  # a container with 2.5 CPUs
    c = choose_threads(workers=1)
    assert c.n == 2 and "cgroup quota 2.5" in c.basis
    assert worker_env(2) == {"MITOGAN_WORKERS": "2", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def test_training_sets_and_logs_its_thread_share(env, eight_cores):
    before = torch.get_num_threads()
    try:
        res = train(_cfg(threads=None, workers=4, steps=2), workspace=env["ws"],
                    tracking_uri=env["uri"], progress=False)
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
    p = tracking.client(env["uri"]).get_run(res.run_id).data.params
    assert p["torch_threads"] == "2" and p["workers"] == "4"
    assert p["torch_threads_basis"] == "8 cores in affinity / 4 workers (--workers)"
