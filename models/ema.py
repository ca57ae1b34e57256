"""Exponential moving average of generator weights (a smoother generator for evaluation)."""
from __future__ import annotations

import copy

import torch
from torch import nn


class EMA:
    """Shadow copy ``ema`` of ``model`` with ``θ_ema ← decay·θ_ema + (1 − decay)·θ`` per update.

    Buffers (BatchNorm running statistics) are copied as they are, because averaging them
    would describe a network that never ran.
    """

    def __init__(self, model: nn.Module, decay: float = 0.999):
        self.decay = float(decay)
        self.ema = copy.deepcopy(model).eval().requires_grad_(False)

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        ema_p = list(self.ema.parameters())
        torch._foreach_lerp_(ema_p, [p.detach() for p in model.parameters()], 1.0 - self.decay)
        for b_ema, b in zip(self.ema.buffers(), model.buffers()):
            b_ema.copy_(b)

    def state_dict(self) -> dict:
        return self.ema.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.ema.load_state_dict(state)
