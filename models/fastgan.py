"""FastGAN (Liu et al. 2021, "Towards Faster and Stabilized GAN Training for High-fidelity
Few-shot Image Synthesis", ICLR): skip-layer excitation in G, a self-supervised D.

Scaled down from the paper's 256–1024 px to 32, 64 and 128 px (``models.backbones.SIZES``):

- **Generator.** ``z`` → 4×4 by a transposed convolution, then one block per doubling (nearest
  upsample, 3×3 conv, BatchNorm, GLU). Skip-layer excitation (SLE) gates every map of 32 px or
  more channel-wise with the map 8× smaller; the paper's skips span 16× between 64 and 1024 px,
  8× keeps one skip at 32 px. One conv per block (the paper alternates with a two-conv block
  with noise injection): that keeps G near the DCGAN generator's size at the same ``width``.
  Spectral norm only in D (the paper's code wraps G's convs too; BatchNorm conditions G here).
- **Discriminator.** Spectrally normalised strided convs down to 8×8, the paper's two-path
  down blocks without BatchNorm (scores of one image never depend on the rest of the batch);
  a 4×4 conv gives 5×5 patch logits whose mean is the score ``(N,)``.
- **Self-supervised reconstruction.** A small decoder rebuilds the real image, area-downsampled
  to 32 px, from D's 8×8 feature map, so D must keep a description of the whole image rather
  than a few decisive patches. The paper compares with LPIPS, which needs pretrained weights
  this project may not download: here the loss is L1, added to D's loss as the ``recon`` term
  (option ``recon_weight``) on real batches only, as in the paper.

Losses: the hinge loss of the paper (``models.sngan``); Adam lr 2e-4, β = (0.5, 0.999).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as _sn

from models.backbones import _dcgan_init, n_blocks
from models.outputs import output_layer
from models.registry import register_variant
from models.sngan import SNGAN

SKIP = 3         # SLE gates the map at block i with the map at block i - SKIP (8× smaller)
RECON_SIDE = 32  # px of the decoder's reconstruction


def _up(c_in: int, c_out: int) -> nn.Sequential:
    """``(N, c_in, h, h)`` → ``(N, c_out, 2h, 2h)``: nearest ×2, 3×3 conv, BatchNorm, GLU."""
    return nn.Sequential(nn.Upsample(scale_factor=2, mode="nearest"),
                         nn.Conv2d(c_in, 2 * c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(2 * c_out),
                         nn.GLU(dim=1))


class SLE(nn.Module):
    """Skip-layer excitation: ``high (N, C_high, H, H)`` times a gate computed from ``low``.

    ``low (N, C_low, h, h)`` → adaptive average pool to 4×4 → 4×4 conv (to ``(N, C_high, 1, 1)``)
    → LeakyReLU(0.1) → 1×1 conv → sigmoid: one factor in (0, 1) per sample and channel, so the
    coarse layout (``low``) switches channels of the fine map on or off, as style does.
    """

    def __init__(self, c_low: int, c_high: int):
        super().__init__()
        self.gate = nn.Sequential(nn.AdaptiveAvgPool2d(4), nn.Conv2d(c_low, c_high, 4, 1, 0),
                                  nn.LeakyReLU(0.1), nn.Conv2d(c_high, c_high, 1), nn.Sigmoid())

    def forward(self, low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
        return high * self.gate(low)


class FastGANGenerator(nn.Module):
    """``z (N, latent_dim)`` → images ``(N, 1, size, size)`` in [-1, 1] (see the module docstring).

    Channels halve per block from ``width · 2^(blocks−1)`` at 4 px, as in
    ``models.backbones.Generator``, down to ``width // 2`` at full size.
    """

    def __init__(self, size: int = 64, latent_dim: int = 128, width: int = 64, output: str = "tanh"):
        super().__init__()
        self.size, self.latent_dim, self.width = size, latent_dim, width
        blocks = n_blocks(size)
        chans = [width * 2 ** (blocks - 1 - i) for i in range(blocks)] + [max(width // 2, 1)]
        self.init = nn.Sequential(nn.ConvTranspose2d(latent_dim, 2 * chans[0], 4, 1, 0, bias=False),
                                  nn.BatchNorm2d(2 * chans[0]), nn.GLU(dim=1))  # (N, chans[0], 4, 4)
        self.blocks = nn.ModuleList(_up(a, b) for a, b in zip(chans[:-1], chans[1:]))
        self.sle = nn.ModuleList(SLE(chans[i - SKIP], chans[i]) for i in range(SKIP, blocks + 1))
        self.to_img = nn.Conv2d(chans[-1], 1, 3, 1, 1)
        self.output = output_layer(output)
        self.apply(_dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        h = self.init(z[:, :, None, None])
        maps = [h]  # maps[i]: (N, chans[i], 4·2^i, 4·2^i)
        for i, block in enumerate(self.blocks, start=1):
            h = block(h)
            if i >= SKIP:
                h = self.sle[i - SKIP](maps[i - SKIP], h)
            maps.append(h)
        return self.output(self.to_img(h))  # (N, 1, size, size)


class _Down(nn.Module):
    """FastGAN's two-path down block, spectrally normalised, without BatchNorm:
    ``(N, c_in, h, h)`` → ``(N, c_out, h/2, h/2)``, the mean of a strided 4×4 + 3×3 conv path
    and an average-pool + 1×1 conv path."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.main = nn.Sequential(_sn(nn.Conv2d(c_in, c_out, 4, 2, 1)), nn.LeakyReLU(0.2),
                                  _sn(nn.Conv2d(c_out, c_out, 3, 1, 1)), nn.LeakyReLU(0.2))
        self.direct = nn.Sequential(nn.AvgPool2d(2), _sn(nn.Conv2d(c_in, c_out, 1)), nn.LeakyReLU(0.2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.main(x) + self.direct(x)) / 2


class FastGANDiscriminator(nn.Module):
    """Images ``(N, 1, size, size)`` in [-1, 1] → raw scores ``(N,)``; ``reconstruct(x)`` →
    ``(N, 1, 32, 32)``.

    ``features`` halves the size down to ``(N, C, 8, 8)`` (``C = width · size / 16``, the
    backbone discriminator's channels at 8 px); ``head`` maps them to 5×5 patch logits;
    ``decoder`` rebuilds a 32 px image from the same features. ``last_conv`` is the head's
    4×4 conv (its 5×5 patch-logit map is what Grad-CAM explains).
    """

    def __init__(self, size: int = 64, width: int = 64):
        super().__init__()
        self.size, self.width = size, width
        ch, layers = width, [_sn(nn.Conv2d(1, width, 4, 2, 1)), nn.LeakyReLU(0.2)]  # (N, w, S/2, S/2)
        for _ in range(n_blocks(size) - 2):  # S/2 → 8 px
            layers.append(_Down(ch, 2 * ch))
            ch *= 2
        self.features = nn.Sequential(*layers)  # (N, ch, 8, 8)
        # registered before the head, so the head's conv is D's last Conv2d (the GANVariant contract)
        self.decoder = nn.Sequential(_up(ch, width), _up(width, width), nn.Conv2d(width, 1, 3, 1, 1),
                                     nn.Tanh())  # (N, 1, 32, 32), in the images' [-1, 1]
        self.head = nn.Sequential(_sn(nn.Conv2d(ch, ch // 2, 1)), nn.LeakyReLU(0.2),
                                  _sn(nn.Conv2d(ch // 2, 1, 4, 1, 0)))  # (N, 1, 5, 5)
        self.apply(_dcgan_init)
        self.last_conv = self.head[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the mean of the patch logits: the paper's hinge is over patches, the contract wants (N,)
        return self.head(self.features(x)).mean(dim=(1, 2, 3))

    def reconstruct(self, x: torch.Tensor) -> torch.Tensor:
        """``x (N, 1, size, size)`` → its reconstruction ``(N, 1, 32, 32)`` from D's 8×8 features."""
        return self.decoder(self.features(x))


def reconstruction_loss(D: FastGANDiscriminator, real: torch.Tensor) -> torch.Tensor:
    """Mean L1 between ``D.reconstruct(real)`` and ``real (N, 1, S, S)`` area-downsampled to
    the decoder's side (the paper's LPIPS needs pretrained weights; see the module docstring)."""
    rec = D.reconstruct(real)  # (N, 1, 32, 32)
    return (rec - F.adaptive_avg_pool2d(real, rec.shape[-2:])).abs().mean()


@register_variant
class FastGAN(SNGAN):
    """The hinge losses of ``sngan`` with FastGAN's networks and the ``recon`` penalty on reals."""

    name = "fastgan"
    betas = (0.5, 0.999)
    options = {"recon_weight": 1.0}

    def build(self, size: int = 64, latent_dim: int = 128, width: int = 64,
              output: str = "tanh") -> tuple[nn.Module, nn.Module]:
        return FastGANGenerator(size, latent_dim, width, output), FastGANDiscriminator(size, width)

    def penalty(self, D, real, fake, generator=None):
        return {"recon": self.recon_weight * reconstruction_loss(D, real)}
