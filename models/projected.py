"""Projected GAN (Sauer et al. 2021, "Projected GANs Converge Faster", NeurIPS): D judges images
in the feature space of a frozen pretrained encoder, through fixed random projections.

The paper projects through an ImageNet EfficientNet, which cannot be downloaded here and
describes dogs, not mitochondria; this variant uses the shipped ``mito-ssl`` encoder
(``models.encoder``, SimCLR on microscopy frames). Its four stride-2 stages give feature maps of
``size/2 … size/16`` px of the encoder's own input side (64 px for the shipped weights; images
of any size are resized to it, exactly as for the metrics). Each map goes through a fixed random
1×1 projection (the paper's cross-channel mixing; its cross-scale mixing is left out) and a
small trainable head (spectrally normalised strided convs down to 4×4, then a linear layer, no
BatchNorm); the score is the sum of the four heads' outputs ``(N,)``. Loss: the hinge loss, as
the paper; Adam lr 2e-4, β = (0, 0.99) as the paper's code. The generator is the DCGAN backbone
(``models.backbones.Generator``).

Caveat for evaluation: the headline metrics (FID, KID, precision/recall) also embed frames with
``mito-ssl``, so for this variant they are not independent of what D saw: G is trained to match
exactly those features. The judge (a CNN trained from scratch) and the morphology measures stay
independent checks.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from models.backbones import Generator, _dcgan_init
from models.encoder import SSLEncoder, default_weights, load_encoder
from models.registry import register_variant
from models.sngan import SNGAN


def _head(ch: int, side: int) -> nn.Sequential:
    """Projected map ``(N, ch, side, side)`` → score ``(N, 1)``: strided 4×4 convs (LeakyReLU
    0.2) halve it down to 4×4 at constant width, then a linear layer; all spectrally normalised."""
    layers: list[nn.Module] = []
    while side > 4:
        layers += [_sn(nn.Conv2d(ch, ch, 4, 2, 1)), nn.LeakyReLU(0.2)]
        side //= 2
    return nn.Sequential(*layers, nn.Flatten(), _sn(nn.Linear(ch * side * side, 1)))


class ProjectedDiscriminator(nn.Module):
    """Images ``(N, 1, S, S)`` in [-1, 1] → raw scores ``(N,)`` (see the module docstring).

    ``encoder`` stays frozen and in eval mode whatever the trainer asks (``train`` and
    ``requires_grad_`` are overridden): its BatchNorm uses the shipped running statistics and
    its weights are never updated, so D sees the features the metrics see. Stage ``k`` (finest
    ``k = 0``) is projected to ``width · 2^k`` channels (the paper's expanding projection).
    ``last_conv`` is the last conv of the finest head (4×4 maps, trainable).

    Parameters
    ----------
    width : int
        Projected channels of the finest stage.
    encoder : SSLEncoder, optional
        Default: ``load_encoder(default_weights())`` (``$MITOGAN_SSL_WEIGHTS`` or the shipped file).
    """

    def __init__(self, width: int = 64, encoder: SSLEncoder | None = None):
        super().__init__()
        self.width = width
        self.encoder = (encoder if encoder is not None else load_encoder(default_weights())).eval()
        self.encoder.requires_grad_(False)
        chans = [width * 2 ** k for k in range(len(self.encoder.channels))]
        for k, (c_in, c) in enumerate(zip(self.encoder.channels, chans)):
            # fixed random channel mixing: a buffer, out of the optimiser's and requires_grad_'s
            # reach, saved with D so a resumed run projects the same way (1/√fan_in keeps the scale)
            self.register_buffer(f"proj{k}", torch.randn(c, c_in, 1, 1) / math.sqrt(c_in))
        side = self.encoder.size // 2
        heads = [_head(c, side >> k) for k, c in enumerate(chans)]
        # coarsest first, so the finest head's last conv is D's last Conv2d (the GANVariant contract)
        self.heads = nn.ModuleList(heads[::-1])
        self.heads.apply(_dcgan_init)
        self.last_conv = [m for m in self.heads[-1].modules() if isinstance(m, nn.Conv2d)][-1]

    def encode(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The encoder's stage maps of ``x (N, 1, S, S)`` in [-1, 1], finest first (it wants [0, 1])."""
        return self.encoder.stages((x + 1) / 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        maps = self.encode(x)
        scores = [head(F.conv2d(m, getattr(self, f"proj{k}")))
                  for k, (m, head) in enumerate(zip(maps, reversed(self.heads)))]  # each (N, 1)
        return torch.stack(scores).sum(dim=0)[:, 0]

    def train(self, mode: bool = True) -> ProjectedDiscriminator:
        super().train(mode)
        self.encoder.eval()  # batch statistics would make D's features drift from the metrics'
        return self

    def requires_grad_(self, requires_grad: bool = True) -> ProjectedDiscriminator:
        super().requires_grad_(requires_grad)
        self.encoder.requires_grad_(False)
        return self


@register_variant
class Projected(SNGAN):
    """The hinge losses of ``sngan``; the DCGAN generator against a projected discriminator."""

    name = "projected"
    betas = (0.0, 0.99)

    def build(self, size: int = 64, latent_dim: int = 128, width: int = 64,
              output: str = "tanh") -> tuple[nn.Module, nn.Module]:
        return Generator(size, latent_dim, width, output), ProjectedDiscriminator(width)
