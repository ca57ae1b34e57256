"""Result keys in one place: how a metric's floor is spelled.

A metric ``<key>`` (e.g. ``fid``) is logged with its floor ``floor_<key>``: in the protocol
(:mod:`analysis.protocol.flat`, which spells the intervals and gaps) the training movies against
the same held-out movies at the same N; in the two-set suite (``compare-sets`` without
``--heldout``) real-vs-real halves by movie. The judge's ``c2st_acc`` has ``floor_c2st_acc`` too.
"""
from __future__ import annotations

FLOOR = "floor_"


def floor_key(key: str) -> str:
    """``floor_<key>``: the column / MLflow metric holding the floor of ``key``."""
    return FLOOR + key
