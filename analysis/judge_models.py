"""The judges of the real-or-fake test: a small registry of binary frame classifiers.

``"cnn"`` (default) is a small strided CNN; ``"logreg-pixels"`` is a raw-pixel logistic
regression baseline. A new judge is a :class:`Judge` subclass with ``@register_judge(name)``.
"""
from __future__ import annotations

import abc
from contextlib import contextmanager
from typing import Callable

import numpy as np
import torch
from torch import nn

from bench.registry import Registry


class Judge(abc.ABC):
    """A binary classifier used by :func:`c2st`.

    Contract: ``fit_predict`` trains from scratch on ``(x_train, y_train)`` and returns the
    probability that each test frame is generated (label 1); the same inputs and ``seed`` give
    the same output on the CPU; it must not change global RNG state.
    """

    name: str = ""

    @abc.abstractmethod
    def fit_predict(self, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray,
                    seed: int) -> np.ndarray:
        """``x_*`` (N, 1, H, W) float32 [0, 1]; ``y_train`` (N,) {0, 1} -> (M,) float in [0, 1]."""


_JUDGES: Registry[Callable[[], Judge]] = Registry("judge", "--judge")


def register_judge(name: str):
    """Class decorator adding a :class:`Judge` under ``name``; refuses bad or duplicate names."""
    def deco(cls):
        _JUDGES.add(name, cls)
        cls.name = name
        return cls
    return deco


def get_judge(name: str) -> Judge:
    return _JUDGES.get(name)()


def list_judges() -> list[str]:
    return sorted(_JUDGES.names())


def _cnn(size: int, width: int) -> nn.Sequential:
    """Strided conv + BatchNorm blocks down to <= 4 px, global average pool, linear logit."""
    layers, c_in, s, depth = [], 1, size, 0
    while s > 4:
        c_out = min(width * 2 ** (depth // 2), 8 * width)
        layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.BatchNorm2d(c_out),
                   nn.LeakyReLU(0.2)]
        c_in, s, depth = c_out, (s + 1) // 2, depth + 1
    return nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c_in, 1))


@contextmanager
def torch_threads(n: int):
    """Run with ``n`` torch threads, then restore. One thread is the default because these convs
    are too small to gain from threading, and several threads collapse (x40 slower, measured)
    when other processes share the cores."""
    old = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(old)


@register_judge("cnn")
class CNNJudge(Judge):
    """Small strided CNN with BatchNorm, Adam, a fixed number of steps (minibatches drawn with
    replacement), no augmentation (it could hide exactly the differences the judge should find)."""

    def __init__(self, steps: int = 200, width: int = 16, batch: int = 64, lr: float = 3e-3,
                 threads: int = 1):
        self.steps, self.width, self.batch, self.lr, self.threads = steps, width, batch, lr, threads

    def fit_predict(self, x_train, y_train, x_test, seed):
        with torch.random.fork_rng(devices=[]), torch_threads(self.threads):
            torch.manual_seed(seed)
            gen = torch.Generator().manual_seed(seed)
            net = _cnn(x_train.shape[-1], self.width)
            opt = torch.optim.Adam(net.parameters(), lr=self.lr)
            xt = torch.from_numpy(np.ascontiguousarray(x_train, np.float32)) * 2 - 1  # (N,1,H,W)
            yt = torch.from_numpy(y_train.astype(np.float32))
            net.train()
            for _ in range(self.steps):
                b = torch.randint(0, len(xt), (self.batch,), generator=gen)
                loss = nn.functional.binary_cross_entropy_with_logits(net(xt[b])[:, 0], yt[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
            net.eval()
            with torch.no_grad():
                xe = torch.from_numpy(np.ascontiguousarray(x_test, np.float32)) * 2 - 1
                return torch.sigmoid(torch.cat([net(c)[:, 0] for c in xe.split(512)])).numpy()


@register_judge("logreg-pixels")
class PixelLogRegJudge(Judge):
    """Baseline: L2 logistic regression on standardised raw pixels."""

    def fit_predict(self, x_train, y_train, x_test, seed):
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler
        clf = make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=500,
                                                                 random_state=seed))
        clf.fit(x_train.reshape(len(x_train), -1), y_train)
        return clf.predict_proba(x_test.reshape(len(x_test), -1))[:, 1]
