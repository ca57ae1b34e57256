"""The scoring protocol: a generator's samples against held-out movies, floors at matched N,
95% intervals over movies, verdicts proven on planted generators.

- :mod:`~analysis.protocol.roles`: ``Role`` (frames + movie ids + strata), ``make_role``,
  ``split_by_movie`` (stratified by label, >= 2 held-out movies when possible).
- :mod:`~analysis.protocol.measures`: the metrics of one comparison on per-frame quantities
  (``METRICS`` with their worse direction; copy-aware k-NN metrics, Vendi count, copying).
- :mod:`~analysis.protocol.score`: ``Protocol`` (train + held-out embedded once; ``.score``
  any sample set) and ``score``; ``HEADLINE`` is the set of metrics shown as verdicts.
- :mod:`~analysis.protocol.c2st_folds`: leave-movie-out folds for :func:`analysis.judge.c2st`.
- :mod:`~analysis.protocol.flat`: the flat MLflow keys of a result; :mod:`~analysis.protocol.text`: a result
  as a text table.
- :mod:`~analysis.protocol.ranking`: ranking by standardised gap to each result's own floor;
  non-intensity pipelines left out with a reason.
- :mod:`~analysis.protocol.ladder`: the planted-generator ladder (``run_ladder``,
  ``format_ladder``; ``python -m analysis.protocol.ladder --data ../shared/data``).
"""
