"""Linear-probe check of an extractor: does a linear classifier on its features recover a label
(e.g. the simulator's morphology class) on held-out movies?"""
from __future__ import annotations

import numpy as np

from analysis.downstream import probe_correct
from bench.errors import MitoError


def linear_probe(train_feats: np.ndarray, train_labels, test_feats: np.ndarray, test_labels) -> float:
    """Accuracy on ``test`` of a logistic regression fit on standardized ``train`` features.

    Parameters
    ----------
    train_feats, test_feats : np.ndarray
        ``(N, D)`` and ``(M, D)`` float32.
    train_labels, test_labels : array-like
        ``(N,)`` and ``(M,)`` class labels; train must hold at least two classes.
    """
    train_labels, test_labels = np.asarray(train_labels), np.asarray(test_labels)
    if len(np.unique(train_labels)) < 2 or len(test_labels) == 0:
        raise MitoError("linear probe", "needs at least two classes to train on and a non-empty test set")
    return float(probe_correct(train_feats, train_labels, test_feats, test_labels).mean())
