"""Ranking by standardised gap to each result's own floor, like with like across pipelines.

A generator is ranked by its objective ``heldout_gap`` (mean standardised gap to its floor over
the headline metrics, worse direction only; :mod:`analysis.protocol.score`): a number in units of
the floor's own spread, so results computed against different references (each pipeline's real
frames through its own transform) can share one ranking. Copiers rank after every non-copier,
and collapsed generators after the others of their kind (a few frames repeated can sit close to
every floor but one).
A pipeline whose output is not an intensity image (an edge map, a mask) is left out of the
ranking, with the reason: a perfect edge-map generator is at its own floor, which says nothing
about whether it draws mitochondria. A result without a verdict (too few movies) is not ranked.

Everything works on flat rows (:func:`analysis.protocol.flat.flatten`, as logged to MLflow and
read back by the study's leaderboard), so the ladder, ``compare-sets`` and the leaderboard rank
by the one rule below.
"""
from __future__ import annotations


from analysis.protocol.flat import (COLLAPSED, COPYING, INTENSITY, OBJECTIVE, POSSIBLE, flatten, number,
                                    within_key)
from analysis.protocol.score import HEADLINE

NOT_INTENSITY = ("not ranked: output is not an intensity image (compared with its own transformed "
                 "real frames only)")
NO_VERDICT = "no verdict: fewer than 2 held-out or train movies"
NOT_SCORED = "not scored by the protocol (no held-out evaluation logged)"
SAME_AS_REAL = "as good as new real movies"


def verdict_word(row) -> str:
    """The verdict of one flat row in words: why it is not ranked, ``copies training frames``,
    ``collapsed``, :data:`SAME_AS_REAL` (every headline metric within its floor), or the headline
    metrics beyond their floor."""
    possible = number(row, POSSIBLE)
    if possible is None:
        return NOT_SCORED
    if possible != 1.0:
        return NO_VERDICT
    if number(row, INTENSITY, 1.0) == 0.0:
        return NOT_INTENSITY
    words = [w for k, w in ((COPYING, "copies training frames"), (COLLAPSED, "collapsed"))
             if number(row, k, 0.0) == 1.0]
    beyond = [m for m in HEADLINE if number(row, within_key(m), 1.0) == 0.0]
    if beyond:
        words.append("beyond floor on " + ", ".join(beyond))
    return "; ".join(words) or SAME_AS_REAL


def rank_rows(rows: list) -> list[int | None]:
    """Rank (1 = best) of every flat row, ``None`` for rows not ranked (no verdict, not an
    intensity image, no objective). Order: non-copiers, then copiers; within each, generators that
    did not collapse first; then by ``heldout_gap``."""
    def rankable(r) -> bool:
        return (number(r, POSSIBLE, 0.0) == 1.0 and number(r, INTENSITY, 1.0) == 1.0
                and number(r, OBJECTIVE) is not None)
    order = sorted((i for i, r in enumerate(rows) if rankable(r)),
                   key=lambda i: (number(rows[i], COPYING, 0.0), number(rows[i], COLLAPSED, 0.0),
                                  number(rows[i], OBJECTIVE), i))
    ranks: list[int | None] = [None] * len(rows)
    for rank, i in enumerate(order, 1):
        ranks[i] = rank
    return ranks


def rank_results(results: dict[str, dict], intensity: dict[str, bool] | None = None) -> list[dict]:
    """Rows ``{"name", "rank", "objective", "copying", "verdict"}`` of protocol results, best
    first, unranked ones last (``rank`` None). ``intensity``: name -> the pipeline's output is
    an intensity image (default: all are)."""
    names = sorted(results)
    flat = [{**flatten(results[n]), INTENSITY: float((intensity or {}).get(n, True))} for n in names]
    ranks = rank_rows(flat)
    rows = [{"name": n, "rank": k, "objective": results[n]["objective"],
             "copying": results[n]["verdict"]["copying"], "verdict": verdict_word(f)}
            for n, k, f in zip(names, ranks, flat)]
    return sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, r["name"]))
