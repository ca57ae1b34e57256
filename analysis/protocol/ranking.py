"""Ranking by standardised gap to each result's own floor, like with like across pipelines.

A generator is ranked by its ``objective`` (mean standardised gap to its floor over the
headline metrics, worse direction only; :func:`analysis.protocol.score.verdict`): a number in
units of the floor's own spread, so results computed against different references (each
pipeline's real frames through its own transform) can share one ranking. Copiers rank after
every non-copier. A pipeline whose output is not an intensity image (an edge map, a mask) is
left out of a ranking of intensity pipelines, with the reason: a perfect edge-map generator is
at its own floor, which says nothing about whether it draws mitochondria.
"""
from __future__ import annotations

import math


def rank_results(results: dict[str, dict]) -> list[dict]:
    """Rows ``{"name", "rank", "objective", "copying"}`` best first; results without a verdict
    come last with ``rank`` None."""
    def key(item):
        name, r = item
        v = r["verdict"]
        if not v["possible"]:
            return (2, math.inf, name)
        return (int(bool(v["copying"])), r["objective"], name)

    rows, rank = [], 0
    for name, r in sorted(results.items(), key=key):
        ok = r["verdict"]["possible"]
        rank += ok
        rows.append({"name": name, "rank": rank if ok else None, "objective": r["objective"],
                     "copying": r["verdict"]["copying"], "reason": r["verdict"]["reason"]})
    return rows


def rank_pipelines(entries: list[dict]) -> dict:
    """Cross-pipeline ranking.

    Parameters
    ----------
    entries : list of dict
        ``{"name", "result", "intensity"}``: a score result against the pipeline's own real
        frames (own floor), and whether the pipeline's output is still an intensity image
        (declared by its ops).

    Returns
    -------
    dict
        ``ranking`` (rows of :func:`rank_results` over the intensity pipelines) and
        ``left_out`` (``{"name", "reason"}`` per pipeline not ranked).
    """
    ranked = {e["name"]: e["result"] for e in entries if e["intensity"]}
    left = [{"name": e["name"], "reason": "output is not an intensity image: compared with its own "
             "transformed real frames only, not ranked against intensity pipelines"}
            for e in entries if not e["intensity"]]
    return {"ranking": rank_results(ranked), "left_out": left}
