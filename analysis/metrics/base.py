"""The metric registry: ``METRICS`` maps a name to a :class:`Metric`, in registration order.

A metric is one function of a :class:`Pair` (a real set and a generated set, with whatever the
metric needs of them) and one registration line that says what it needs, which way is better
and how its floor is obtained::

    @register_metric("fid", needs={FEATURES}, better=LOWER, fidelity=True)
    def fid(p: Pair) -> float: ...

The suite (:func:`analysis.metrics.suite.metric_suite`) loops over the registry; the floor
protocol (:func:`analysis.metrics.suite.compare_arrays`) and the conformance test
(``tests/test_metrics.py``) read the declarations, so a new metric needs nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from bench.registry import Registry

# what a metric reads from a Pair
FRAMES, FEATURES, MORPHOLOGY = "frames", "features", "morphology"
# which way a generator closer to the real data moves the value; None: a reference or a spread
LOWER, HIGHER = "lower", "higher"
# how the floor is obtained: the same metric between two by-movie halves of the real set,
# mean ± sd over up to FLOOR_SPLITS splits (analysis.metrics.floor)
HALVES = "real-vs-real halves by movie"


@dataclass
class Pair:
    """What a metric of one (real, generated) pair reads.

    ``real`` ``(N, 1, H, W)`` / ``fake`` ``(M, 1, H, W)`` float32 [0, 1]; ``real_feats`` ``(N, D)``
    / ``fake_feats`` ``(M, D)``; ``real_morph`` / ``fake_morph`` morphology tables (``None`` when
    morphology is not measured); ``real_movie_ids`` ``(N,)`` str; ``n_bins`` NDB bins; ``seed``.
    Intermediate results several metrics share (one torch-fidelity pass, one whitening) are
    computed once per pair through :meth:`shared`.
    """
    real: np.ndarray
    fake: np.ndarray
    real_feats: np.ndarray
    fake_feats: np.ndarray
    real_morph: object = None
    fake_morph: object = None
    real_movie_ids: np.ndarray | None = None
    n_bins: int = 10
    seed: int = 0
    _shared: dict = field(default_factory=dict, repr=False)

    def shared(self, key: str, make: Callable[[], object]):
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]


@dataclass(frozen=True)
class Metric:
    """One registered metric.

    Contract: ``fn(pair)`` returns a float, or a ``{key: float}`` dict for a family of keys
    (``wd_<feature>``); finite on sets of at least ``analysis.fidelity.MIN_FRAMES`` frames;
    deterministic in ``pair.seed``. It reads only what ``needs`` declares (a metric needing
    ``MORPHOLOGY`` is skipped when morphology is not measured). ``better`` is ``LOWER`` or
    ``HIGHER`` when a generator closer to the real data moves it that way (a degraded copy of
    real frames must move it the other way), ``None`` for a reference or a spread that ranks
    nothing (``vendi_real``, ``kid_std``). ``floor`` names how its floor is obtained (``HALVES``).
    ``fidelity``: part of the cheap fidelity-only subset (fid, kid, precision, recall).
    """
    name: str
    fn: Callable[[Pair], float | dict]
    needs: frozenset
    better: str | None
    floor: str = HALVES
    fidelity: bool = False

    def __call__(self, pair: Pair) -> dict[str, float]:
        out = self.fn(pair)
        return {k: float(v) for k, v in out.items()} if isinstance(out, dict) else {self.name: float(out)}


METRICS: Registry[Metric] = Registry("metric", "--metric", r"[a-z][a-z0-9_]*")


def register_metric(name: str, *, needs, better: str | None, floor: str = HALVES,
                    fidelity: bool = False):
    """Decorator: register ``fn(pair)`` as metric ``name`` (see :class:`Metric` for the fields)."""
    if better not in (LOWER, HIGHER, None):
        raise ValueError(f"metric {name}: better must be {LOWER!r}, {HIGHER!r} or None")

    def deco(fn):
        METRICS.add(name, Metric(name, fn, frozenset(needs), better, floor, fidelity))
        return fn
    return deco


def selected(*, fidelity_only: bool = False, morphology: bool = True) -> list[Metric]:
    """The registered metrics a suite run computes, in registration order."""
    return [m for _, m in METRICS.items()
            if (m.fidelity or not fidelity_only) and (morphology or MORPHOLOGY not in m.needs)]
