"""DCGAN-style convolutional backbones for square 1-channel images of 32, 64 or 128 px.

Both networks double / halve the spatial size once per block between 4 px and the image size,
so one pair of classes serves every supported size. Images are ``(N, 1, S, S)`` float32 in
[-1, 1] (the generator ends with ``tanh`` or a clamp, ``models.outputs``); the discriminator
returns one raw score per image, ``(N,)`` — a logit or critic value depending on the variant's
loss.
"""
from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from bench.errors import MitoError
from models.outputs import output_layer

SIZES = (32, 64, 128)
D_NORMS = ("batch", "layer", "none")


def n_blocks(size: int) -> int:
    """Resolution doublings between 4 px and ``size`` (3 for 32 px, 4 for 64, 5 for 128)."""
    if size not in SIZES:
        raise MitoError("size", f"{size} px is not supported (choose one of {', '.join(map(str, SIZES))})")
    return int(math.log2(size // 4))


class Generator(nn.Module):
    """``z (N, latent_dim)`` → images ``(N, 1, size, size)`` in [-1, 1].

    A transposed convolution lifts ``z`` to ``(N, C, 4, 4)``; each block then doubles the size
    and halves the channels (BatchNorm + ReLU), down to ``width`` channels before the output
    layer ``output`` (``models.outputs``: ``tanh`` or ``fluorescence``).
    """

    def __init__(self, size: int = 64, latent_dim: int = 128, width: int = 64, output: str = "tanh"):
        super().__init__()
        self.size, self.latent_dim, self.width = size, latent_dim, width
        blocks = n_blocks(size)
        ch = width * 2 ** (blocks - 1)
        layers = [nn.ConvTranspose2d(latent_dim, ch, 4, 1, 0, bias=False), nn.BatchNorm2d(ch),
                  nn.ReLU(True)]  # (N, ch, 4, 4)
        for _ in range(blocks - 1):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, 1, 4, 2, 1), output_layer(output)]  # (N, 1, size, size)
        self.net = nn.Sequential(*layers)
        self.apply(_dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])


def _norm(kind: str, ch: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind == "layer":  # per-sample normalisation: a gradient penalty needs no batch coupling
        return nn.GroupNorm(1, ch)
    return nn.Identity()


class Discriminator(nn.Module):
    """Images ``(N, 1, size, size)`` in [-1, 1] → raw scores ``(N,)``.

    Strided convolutions (LeakyReLU 0.2) halve the size down to ``(N, C, 4, 4)``; a linear head
    maps those features to one score. ``last_conv`` is the final ``nn.Conv2d`` (4×4 feature
    maps, the layer Grad-CAM explains).

    Parameters
    ----------
    norm : {"batch", "layer", "none"}
        Normalisation after every convolution but the first.
    spectral : bool
        Wrap every convolution and the head in spectral normalisation.
    """

    def __init__(self, size: int = 64, width: int = 64, norm: str = "batch", spectral: bool = False):
        super().__init__()
        if norm not in D_NORMS:
            raise MitoError("norm", f"unknown discriminator norm {norm!r} (choose from {D_NORMS})")
        self.size, self.width = size, width
        wrap = _sn if spectral else (lambda m: m)
        ch, layers = width, []
        layers += [wrap(nn.Conv2d(1, ch, 4, 2, 1)), nn.LeakyReLU(0.2, True)]  # (N, w, S/2, S/2)
        for _ in range(n_blocks(size) - 1):
            layers += [wrap(nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=norm == "none")),
                       _norm(norm, ch * 2), nn.LeakyReLU(0.2, True)]
            ch *= 2
        self.features = nn.Sequential(*layers)  # (N, ch, 4, 4)
        self.head = wrap(nn.Linear(ch * 16, 1))
        self.apply(_dcgan_init)
        self.last_conv = [m for m in self.features if isinstance(m, nn.Conv2d)][-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))[:, 0]


def _dcgan_init(m: nn.Module) -> None:
    """N(0, 0.02) weights as in the DCGAN paper; BatchNorm scales N(1, 0.02)."""
    if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
        weight = getattr(m, "parametrizations", None)
        w = weight.weight.original if weight is not None else m.weight
        nn.init.normal_(w, 0.0, 0.02)
        if m.bias is not None:
            nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)
