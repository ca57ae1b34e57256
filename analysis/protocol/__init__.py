"""The scoring protocol: samples against held-out movies, floors at matched N, intervals over
movies, verdicts proven on planted generators (see :mod:`analysis.protocol.score`)."""
