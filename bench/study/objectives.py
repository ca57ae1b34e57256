"""The metric names a study may optimise: every key ``evaluate_run`` can return.

Checked by ``mitogan study`` (and its ``--dry-run``) before anything is created, so a misspelled
objective (``commn_morph_fd``) is one line naming it and the nearest known names, not a grid of
trials that all train and then fail.
"""
from __future__ import annotations

import difflib

from bench.errors import MitoError
from bench.study.config import DEFAULT_OBJECTIVES, StudyConfig

def known_metrics() -> set[str]:
    """The protocol's flat keys (:mod:`analysis.protocol.flat`), their ``inception_`` twins, the
    µm morphology medians and the pixel-intensity summaries of ``evaluate_run``."""
    from analysis.intensity import intensity_keys
    from analysis.protocol.flat import all_keys, inception_keys  # late: pulls in the metric stack
    from preprocessing.physical import PHYSICAL_COLUMNS
    um = [f"{side}_{name}_median" for side in ("real", "fake") for name, _ in PHYSICAL_COLUMNS.values()]
    return {*all_keys(), *inception_keys(), *um, *intensity_keys()}


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
