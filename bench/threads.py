"""How many intra-op threads a training process should use: its share of the cores it may use.

PyTorch starts one intra-op thread per core it sees, whatever else runs there. Two trainings
on two cores then run four busy threads that preempt each other mid-kernel: measured 5–7×
slower per step instead of the 2× that sharing costs. So every training process takes
``floor(cores / workers)`` threads (at least 1), where

- ``cores`` is what this process may actually run on: the CPU affinity mask
  (``os.sched_getaffinity``: taskset, SLURM, a container's cpuset) capped by the CFS quota of
  its cgroup (``cpu.max`` in cgroup v2, ``cpu.cfs_quota_us / cpu.cfs_period_us`` in v1: a
  container given 1.5 CPUs on a 64-core host has 1.5, not 64);
- ``workers`` is the number of training processes sharing those cores: ``--workers`` of
  ``mitogan train``, else ``$MITOGAN_WORKERS`` (which ``mitogan study --workers N`` sets for
  the worker processes it starts), else 1.

``--threads`` overrides the choice. The run logs the number and how it was chosen.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

WORKERS_ENV = "MITOGAN_WORKERS"
CGROUP_ROOT = Path("/sys/fs/cgroup")


@dataclass(frozen=True)
class ThreadChoice:
    n: int        # intra-op threads
    basis: str    # how it was chosen, for the run's params


def cgroup_quota(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> float | None:
    """CPUs this process's cgroup may use per period (``None``: no quota, or no cgroup found)."""
    paths = {}
    try:
        for line in proc_cgroup.read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            for c in controllers.split(",") if controllers else [""]:
                paths[c] = path.lstrip("/")
    except (OSError, ValueError):
        return None
    candidates = [(root / paths.get("", "") / "cpu.max", None)]  # v2: "QUOTA PERIOD" or "max PERIOD"
    for v1 in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        base = root / v1 / paths.get("cpu", "")
        candidates.append((base / "cpu.cfs_quota_us", base / "cpu.cfs_period_us"))
    for quota_file, period_file in candidates:
        try:
            if period_file is None:
                quota, period = quota_file.read_text().split()[:2]
            else:
                quota, period = quota_file.read_text().strip(), period_file.read_text().strip()
        except (OSError, ValueError):
            continue
        if quota in ("max", "-1"):
            return None
        try:
            return int(quota) / int(period)
        except (ValueError, ZeroDivisionError):
            return None
    return None


def usable_cores() -> tuple[float, str]:
    """``(cores, how)``: the affinity mask's size, capped by the cgroup CPU quota."""
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        affinity = os.cpu_count() or 1
    quota = cgroup_quota()
    if quota is not None and quota < affinity:
        return quota, f"cgroup quota {quota:g} CPUs (affinity {affinity})"
    return float(affinity), f"{affinity} cores in affinity"


def choose_threads(threads: int | None = None, workers: int | None = None) -> ThreadChoice:
    """Intra-op threads for one of ``workers`` processes sharing this process's cores."""
    if threads:
        return ThreadChoice(int(threads), "--threads")
    if workers is None:
        env = os.environ.get(WORKERS_ENV, "")
        workers, source = (int(env), f"${WORKERS_ENV}") if env.isdigit() and int(env) > 0 else (1, "default")
    else:
        source = "--workers"
    cores, how = usable_cores()
    n = max(1, math.floor(cores / workers))
    return ThreadChoice(n, f"{how} / {workers} workers ({source})")


def worker_env(workers: int, threads: int | None = None) -> dict[str, str]:
    """Environment for one of ``workers`` processes started together on this host: they learn
    how many share the cores (and OpenMP/MKL pools outside torch get the same share)."""
    n = str(choose_threads(threads, workers).n)
    return {WORKERS_ENV: str(workers), "OMP_NUM_THREADS": n, "MKL_NUM_THREADS": n}


def apply(threads: int | None = None, workers: int | None = None) -> ThreadChoice:
    """Choose and set torch's intra-op threads for this process."""
    import torch
    choice = choose_threads(threads, workers)
    torch.set_num_threads(choice.n)
    return choice
