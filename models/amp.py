"""Mixed precision for GAN training: autocast for the forward passes, loss scaling where fp16
needs it, and the discriminator penalties kept in fp32.

Modes (``--amp``):

``off``
    Everything in float32 (the default: bit-reproducible on the CPU).
``bf16``
    ``torch.autocast(dtype=torch.bfloat16)`` on CUDA or the CPU. bfloat16 has float32's exponent
    range, so gradients cannot underflow and no scaler is needed.
``fp16``
    ``torch.autocast(dtype=torch.float16)`` with one ``GradScaler`` per optimiser (their losses
    differ by orders of magnitude, so one shared scale would fit neither). CUDA only: PyTorch's
    CPU fp16 convolutions are slower than float32, so it is refused there.

Penalties (WGAN-GP's ``E[(‖∇D(x̂)‖−1)²]``, R1's ``E[‖∇D(x)‖²]``) differentiate D with respect to
its input and square the result: in half precision the input gradient of a 64 px critic is
rounded to 3 significant digits (bf16) or underflows (fp16), and the penalty then pushes on
noise. ``penalty_fp32`` runs them with autocast off on float32 inputs, so they are the same
numbers as in a float32 run; the outer backward pass scales through them like any other term.
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn

from bench.errors import MitoError

AMP_MODES = ("off", "bf16", "fp16")
_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def check_amp(mode: str, device: torch.device) -> None:
    """``MitoError`` naming ``--amp`` for a mode this device cannot run."""
    if mode not in AMP_MODES:
        raise MitoError("--amp", f"unknown mode {mode!r} (choose from {', '.join(AMP_MODES)})")
    if mode == "fp16" and device.type != "cuda":
        raise MitoError("--amp", f"fp16 needs a CUDA device (loss scaling; CPU fp16 is slower "
                        f"than fp32), this run is on {device}: use --amp bf16 or off")


class Precision:
    """Autocast and loss scaling for one trainer: ``with prec.autocast(): ...`` around forward
    passes; ``prec.step(loss, opt)`` instead of ``loss.backward(); opt.step()``."""

    def __init__(self, mode: str, device: torch.device):
        check_amp(mode, device)
        self.mode, self.device = mode, device
        self.scalers: dict[str, torch.amp.GradScaler] = {}  # fp16 only: one per optimiser

    def autocast(self):
        if self.mode == "off":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=_DTYPES[self.mode])

    def step(self, loss: torch.Tensor, opt: torch.optim.Optimizer, name: str) -> None:
        """Backward ``loss`` and step ``opt`` (scaled, with the scaler called ``name``, in fp16)."""
        if self.mode != "fp16":
            loss.backward()
            opt.step()
            return
        scaler = self.scalers.setdefault(name, torch.amp.GradScaler(self.device.type))
        scaler.scale(loss).backward()
        scaler.step(opt)  # skipped (and the scale lowered) when a gradient is inf/nan
        scaler.update()

    def state_dict(self) -> dict:
        return {k: s.state_dict() for k, s in self.scalers.items()}

    def load_state_dict(self, state: dict) -> None:
        for name, s in (state or {}).items():
            self.scalers.setdefault(name, torch.amp.GradScaler(self.device.type)).load_state_dict(s)


def penalty_fp32(variant, D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                 generator: torch.Generator | None = None) -> dict:
    """``variant.penalty`` with autocast off and float32 inputs (see the module docstring)."""
    with torch.autocast(real.device.type, enabled=False):
        return variant.penalty(D, real.float(), fake.float(), generator)
