"""Result keys in one place: how a metric's floor, its spread and its space are spelled.

A metric ``<key>`` (e.g. ``fid``) is logged with its real-vs-real floor ``floor_<key>`` and the
floor's spread ``floor_sd_<key>``; in the common space (the same real reference for every run,
see ``COMMON_PIPELINE``) every key gains ``common_`` first (``common_fid``, ``floor_common_fid``),
standard Inception features ``inception_``. The judge's ``c2st_acc`` has ``floor_c2st_acc`` too.
"""
from __future__ import annotations

FLOOR = "floor_"
FLOOR_SD = "floor_sd_"
COMMON_PREFIX = "common_"
INCEPTION_PREFIX = "inception_"
COMMON_PIPELINE = "normalize"  # the common space: every run's real frames through this pipeline


def floor_key(key: str) -> str:
    """``floor_<key>``: the column / MLflow metric holding the real-vs-real floor of ``key``."""
    return FLOOR + key


def floor_sd_key(key: str) -> str:
    return FLOOR_SD + key


def is_floor(key: str) -> bool:
    return key.startswith(FLOOR)


def flat_keys(result: dict, prefix: str = "") -> dict:
    """A :func:`~analysis.metrics.suite.compare_arrays` result as flat logged keys: every metric
    ``<prefix><key>``, its ``floor_<prefix><key>`` and ``floor_sd_<prefix><key>``, and the N."""
    out = {f"{prefix}{k}": v for k, v in result["metrics"].items()}
    out.update({floor_key(prefix + k): v for k, v in result["floor"].items()})
    out.update({floor_sd_key(prefix + k): v for k, v in result["floor_sd"].items() if v is not None})
    out[f"{prefix}n_real"], out[f"{prefix}n_fake"] = result["n_real"], result["n_fake"]
    return out
