"""Generator output layers: how the last feature map becomes an image in [-1, 1].

Images in training live in [-1, 1], where -1 is intensity 0 (``models.sampling`` maps back with
``(x + 1) / 2``). Two output layers, chosen by ``TrainConfig.output``:

``tanh``
    The DCGAN output. It approaches -1 only asymptotically, so a generator can never draw the
    exact-zero background of percentile-clipped fluorescence: it paints a faint haze instead
    (HeLa tiles: median pixel 0.000 real, 0.005 generated).
``fluorescence``
    ``clamp((1 + margin)·tanh(h), -1, 1)``: the clipping that ``normalize`` applies to real
    frames (1st percentile → exactly 0, top percentile → exactly 1), so exact-zero background
    and saturated peaks cost the network a finite pre-activation. The gradient passes the clamp
    straight through (as if it were not there), or a background pixel, once clamped, could never
    be lit again. The tanh bounds how far below the clamp a pixel can sink: with a plain clamp
    of ``h``, pixels drifted far below it and stayed dark (fitting the simulator's pixel
    histogram directly: 38% exact zeros against the real frames' 1.4%).

Fitting each layer's pixel histogram directly to real frames (``tests/test_outputs.py``, 600
steps) shows what each can draw. HeLa 32 px tiles (57.0% exact zeros): tanh draws none (median
0.0013, a haze), the fluorescence layer 55.5% (median 0.000, 99th percentile 0.558 against
0.550). Simulator frames (1.6% zeros): the fluorescence layer draws 1.3%, so it does not invent
background. A wider margin (0.1) let pixels sink further below the clamp: 13% zeros on the
simulator.
"""
from __future__ import annotations

import torch
from torch import nn

from bench.errors import MitoError

OUTPUTS = ("tanh", "fluorescence")


class FluorescenceOutput(nn.Module):
    """``h (N, 1, S, S)`` → ``clamp((1 + margin)·tanh(h), -1, 1)`` with a straight-through clamp."""

    def __init__(self, margin: float = 0.03):
        super().__init__()
        self.margin = margin

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        y = (1 + self.margin) * torch.tanh(h)
        return y + (y.clamp(-1.0, 1.0) - y).detach()  # forward: the clamp; backward: dy


def output_layer(kind: str) -> nn.Module:
    """The output layer called ``kind`` (one of ``OUTPUTS``; ``MitoError`` otherwise)."""
    if kind == "tanh":
        return nn.Tanh()
    if kind == "fluorescence":
        return FluorescenceOutput()
    raise MitoError("output", f"unknown generator output {kind!r} (choose from {', '.join(OUTPUTS)})")
