"""How a protocol result (:meth:`analysis.protocol.score.Protocol.score`) is spelled as flat
MLflow metrics, and read back: the one place these key names live.

For every protocol metric ``<m>`` (``fid``, ``morph_fd``, ``copy_fraction``, ...):
``<m>`` the value, ``<m>_ci_low`` / ``<m>_ci_high`` its 95% interval over movies, ``floor_<m>``
(+ ``_ci_low`` / ``_ci_high``) the train-vs-held-out floor at the same N, ``gap_z_<m>`` the gap in
floor SDs, ``within_floor_<m>`` 1/0. Then the verdict (``copying``, ``collapsed``,
``verdict_possible``, 1/0), the objective ``heldout_gap`` (mean worse-side gap in floor SDs over
the headline metrics: 0 = as good as new real movies; the studies' default objective; with its
interval over the model's replicates, ``heldout_gap_ci_low`` / ``_ci_high``) and the counts
behind it. Booleans are 1.0/0.0 (MLflow metrics are numbers); a verdict that is not
possible logs no interval, gap or flag at all (absent, never a misleading 0).
"""
from __future__ import annotations

import math

from analysis.metrics.keys import floor_key
from analysis.protocol.measures import METRICS

OBJECTIVE = "heldout_gap"
COPYING, COLLAPSED, POSSIBLE = "copying", "collapsed", "verdict_possible"
INTENSITY = "intensity_output"  # 1: the pipeline's output is an intensity image (rankable)
COUNTS = ("n_samples", "n_train", "n_heldout", "n_train_movies", "n_heldout_movies")
LOW, HIGH = "_ci_low", "_ci_high"
# standard-space twins (Inception features, when the weights are local): inception_<key>
INCEPTION_PREFIX, INCEPTION_METRICS = "inception_", ("fid", "kid")


def gap_key(m: str) -> str:
    return f"gap_z_{m}"


def within_key(m: str) -> str:
    return f"within_floor_{m}"


def metric_keys(m: str) -> list[str]:
    """Every flat key of protocol metric ``m``."""
    f = floor_key(m)
    return [m, m + LOW, m + HIGH, f, f + LOW, f + HIGH, gap_key(m), within_key(m)]


def all_keys() -> list[str]:
    """Every key :func:`flatten` can write (what a study may name as an objective)."""
    return [k for m in METRICS for k in metric_keys(m)] + [
        OBJECTIVE, OBJECTIVE + LOW, OBJECTIVE + HIGH, COPYING, COLLAPSED, POSSIBLE, INTENSITY, *COUNTS]


def inception_keys(flat: dict[str, float] | None = None) -> dict[str, float] | list[str]:
    """The ``inception_`` keys: all of them, or those of a flattened Inception-space result."""
    keys = [k for m in INCEPTION_METRICS for k in metric_keys(m)]
    if flat is None:
        return [INCEPTION_PREFIX + k for k in keys]
    return {INCEPTION_PREFIX + k: flat[k] for k in keys if k in flat}


def flatten(res: dict) -> dict[str, float]:
    """A protocol result as flat float metrics (see the module docstring)."""
    out = {m: float(v) for m, v in res["metrics"].items()}
    out.update({floor_key(m): float(v) for m, v in res["floor"].items()})
    n = res["n"]
    out.update(n_samples=n["samples"]["frames"], n_train=n["train"]["frames"],
               n_heldout=n["heldout"]["frames"], n_train_movies=n["train"]["movies"],
               n_heldout_movies=n["heldout"]["movies"])
    v = res["verdict"]
    out[POSSIBLE] = float(v["possible"])
    if not v["possible"]:
        return out
    for m in res["metrics"]:
        for key, (lo, hi) in ((m, res["ci"][m]), (floor_key(m), res["floor_ci"][m])):
            out[key + LOW], out[key + HIGH] = float(lo), float(hi)
        out[gap_key(m)] = float(res["gap_z"][m])
        out[within_key(m)] = float(v["within_floor"][m])
    out.update({OBJECTIVE: float(res["objective"]), OBJECTIVE + LOW: float(res["objective_ci"][0]),
                OBJECTIVE + HIGH: float(res["objective_ci"][1]), COPYING: float(v["copying"]),
                COLLAPSED: float(v["collapsed"])})
    return out


def number(row, key: str, default=None):
    """A flat row's (dict or pandas Series) finite number under ``key``, else ``default``."""
    v = row.get(key) if hasattr(row, "get") else None
    try:
        v = float(v)
    except (TypeError, ValueError):
        return default
    return v if math.isfinite(v) else default


def read_metric(row, m: str) -> dict:
    """One metric of a flat row (dict or pandas Series) back as ``{value, ci, floor, floor_ci,
    gap_z, within}`` (``None`` where not logged)."""
    f = floor_key(m)
    pair = lambda k: (None if number(row, k + LOW) is None  # noqa: E731
                      else [number(row, k + LOW), number(row, k + HIGH)])
    within = number(row, within_key(m))
    return {"value": number(row, m), "ci": pair(m), "floor": number(row, f), "floor_ci": pair(f),
            "gap_z": number(row, gap_key(m)), "within": None if within is None else bool(within)}
