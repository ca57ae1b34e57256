"""A planted memoriser: a "GAN variant" whose generator returns frames of its training batches.

Its discriminator keeps a handle on the generator; the (empty) penalty hook, which sees every real
batch, writes the batch into the generator's ``bank`` buffer (saved with the checkpoint), and
``G(z)`` returns bank frames chosen by ``z``: exact copies of training frames. A verdict that
rewards copying ranks it first; the protocol must flag it and rank it last.
"""
from __future__ import annotations

import contextlib

import torch
from torch import nn

from models.dcgan import DCGAN
from models.registry import _VARIANTS, register_variant

BANK = 8  # frames memorised (the last real batch's first 8)


class CopyG(nn.Module):
    def __init__(self, size: int, latent_dim: int):
        super().__init__()
        self.register_buffer("bank", torch.zeros(BANK, 1, size, size))  # (K, 1, S, S) in [-1, 1]
        self.zero = nn.Parameter(torch.zeros(()))  # an optimiser needs one parameter
        self.size, self.latent_dim = size, latent_dim

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (N, latent_dim) -> (N, 1, S, S)
        idx = (z[:, 0] * 1e4).long().remainder(BANK)
        return self.bank[idx] + 0 * self.zero


class Copier(DCGAN):
    name = "copier"

    def build(self, size: int = 64, latent_dim: int = 128, width: int = 64, output: str = "tanh"):
        G = CopyG(size, latent_dim)  # draws training frames exactly: no output layer to choose
        _, D = DCGAN.build(self, size, latent_dim, width)
        D.memorise_into = [G]  # a list: not a submodule, so D's state and parameters are its own
        return G, D

    def penalty(self, D, real, fake, generator):
        with torch.no_grad():
            D.memorise_into[0].bank.copy_(real[:BANK].to(D.memorise_into[0].bank))
        return {}


@contextlib.contextmanager
def copier_registered():
    """Register :class:`Copier` for the duration (the registry refuses duplicates)."""
    register_variant(Copier)
    try:
        yield Copier.name
    finally:
        _VARIANTS._items.pop(Copier.name, None)  # noqa: SLF001 - test-only registration
