"""The metric names a study may optimise: every key ``evaluate_run`` can return.

Checked by ``mitogan study`` (and its ``--dry-run``) before anything is created, so a misspelled
objective (``commn_morph_fd``) is one line naming it and the nearest known names, not a grid of
trials that all train and then fail.
"""
from __future__ import annotations

import difflib

from bench.errors import MitoError
from bench.study.config import DEFAULT_OBJECTIVES, StudyConfig

MEMORIZATION = ("copying", "copying_z", "copying_p", "copying_median_ratio", "authenticity",
                "birthday_support", "birthday_lower_bound")
INCEPTION = ("fid", "kid_mean", "kid_std", "precision", "recall")  # inception_<key>, when local


def known_metrics() -> set[str]:
    """Own-space, ``common_``, ``inception_`` and ``floor_`` keys, and memorization keys."""
    from analysis.metrics import METRICS  # late: pulls in the metric stack
    from analysis.morphology import MORPH_FEATURES
    base = [*(n for n in METRICS.names() if n != "morph_wd"), *(f"wd_{f}" for f in MORPH_FEATURES)]
    spaced = [*base, *(f"common_{k}" for k in base), *(f"inception_{k}" for k in INCEPTION)]
    counts = [f"{s}n_{w}" for s in ("", "common_") for w in ("real", "fake")]
    return {*spaced, *(f"floor_{k}" for k in spaced), *(f"floor_sd_{k}" for k in spaced),
            *counts, *MEMORIZATION}


def check_objectives(cfg: StudyConfig) -> None:
    """``MitoError`` naming ``objectives.I.metric`` for a metric no evaluation produces."""
    defaults = {o["metric"] for o in DEFAULT_OBJECTIVES}
    if all(o.metric in defaults for o in cfg.objectives):
        return  # the defaults are known: skip importing the metric stack
    known = known_metrics()
    for i, o in enumerate(cfg.objectives):
        if o.metric not in known:
            near = difflib.get_close_matches(o.metric, sorted(known), n=3)
            raise MitoError(f"objectives.{i}.metric", f"unknown metric {o.metric!r}"
                            + (f" (did you mean {', '.join(near)}?)" if near else ""))
