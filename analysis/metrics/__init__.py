"""The two-set metric suite (``compare-sets`` without ``--heldout``): metrics of a generated set
against real frames, each next to its real-vs-real floor. The verdict protocol
(:mod:`analysis.protocol`: held-out movies, matched-N floors, intervals over movies) is what
``evaluate``, studies and the report use.

- :mod:`.base`: the ``METRICS`` registry, :class:`Metric` (what it needs, which way is better,
  how its floor is obtained) and :class:`Pair` (what a metric reads);
- :mod:`.builtin`: the built-in metrics, one function and one registration line each;
- :mod:`.suite`: :func:`compare_arrays` (every metric + its floor) and :func:`metric_suite`;
- :mod:`.splits`: by-movie halves of the floor, k-NN groups, NDB bins, morphology sample;
- :mod:`.keys`: how a floor is spelled (``floor_<key>``);
- :mod:`.sets`: frames to compare from a data set or a folder;
- :mod:`.known_answers`: the known-answer ladder of ``mitogan validate-metrics``.
"""
from analysis.metrics import builtin  # noqa: F401  (importing registers the built-in metrics)
from analysis.metrics.base import (FEATURES, FRAMES, HALVES, HIGHER, LOWER, METRICS, MORPHOLOGY,
                                   Metric, Pair, register_metric)
from analysis.metrics.keys import FLOOR, floor_key

__all__ = ["FEATURES", "FLOOR", "FRAMES", "HALVES", "HIGHER", "LOWER", "METRICS", "MORPHOLOGY",
           "Metric", "Pair", "floor_key", "register_metric"]
