"""Benchmarks: each prints its figures and a ratio against a baseline measured in the same run."""
from __future__ import annotations

import time


def timed(fn):
    """``(seconds, fn())``: wall time of one call."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out
