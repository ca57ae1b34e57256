"""Frames from a generator: ``sample`` (seeded latents) and ``generate`` (given latents).

Pure torch; every consumer (training grids, evaluation, export, the report) samples here, so a
seed gives the same frames wherever they are drawn.
"""
from __future__ import annotations

import numpy as np
import torch


def sample(G: torch.nn.Module, n: int, seed: int, batch: int = 256) -> np.ndarray:
    """``n`` images ``(n, 1, S, S)`` float32 in [0, 1] from latents drawn with ``seed``.

    Uses its own RNG (the global one is untouched) and restores ``G``'s train/eval mode; the
    latents are drawn on the CPU, so a seed gives the same images on any device.
    """
    z = torch.randn(n, G.latent_dim, generator=torch.Generator().manual_seed(int(seed)))  # (n, latent)
    return generate(G, z, batch)


@torch.no_grad()
def generate(G: torch.nn.Module, z: torch.Tensor, batch: int = 256) -> np.ndarray:
    """``G`` in eval mode on latents ``z (n, latent)`` → ``(n, 1, S, S)`` float32 in [0, 1]."""
    was_training, dev = G.training, next(G.parameters()).device
    G.eval()
    try:
        out = [G(z[i:i + batch].to(dev)).float().cpu() for i in range(0, len(z), batch)]
    finally:
        G.train(was_training)
    return ((torch.cat(out) + 1) / 2).clamp_(0, 1).numpy()
