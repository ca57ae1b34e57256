"""DiffAugment: differentiable augmentations applied to every image the discriminator sees.

Zhao et al. (2020) showed that augmenting only the real images teaches the generator to
produce augmented images; applying the *same distribution* of augmentations to real and fake
images, and back-propagating through them into the generator, avoids that leak and lets a GAN
train on a few hundred frames. Each call draws fresh parameters per image, so real and fake
batches are augmented independently but identically distributed.
"""
from __future__ import annotations

import torch

POLICIES = ("brightness", "contrast", "translation", "cutout")


def _rand(n: int, x: torch.Tensor, generator) -> torch.Tensor:
    return torch.rand(n, 1, 1, 1, device=x.device, dtype=x.dtype, generator=generator)


def brightness(x: torch.Tensor, generator=None) -> torch.Tensor:
    """Add one offset in [-0.5, 0.5) per image (images in [-1, 1])."""
    return x + (_rand(len(x), x, generator) - 0.5)


def contrast(x: torch.Tensor, generator=None) -> torch.Tensor:
    """Scale each image's deviation from its own mean by a factor in [0.5, 1.5)."""
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(len(x), x, generator) + 0.5) + mean


def translation(x: torch.Tensor, generator=None, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ``ratio`` of its size in y and x, filling with zeros."""
    n, _, h, w = x.shape
    sy, sx = int(h * ratio + 0.5), int(w * ratio + 0.5)
    shift = torch.rand(n, 2, device=x.device, generator=generator)
    dy = (shift[:, 0] * (2 * sy + 1)).long() - sy  # (N,) integer shifts in [-sy, sy]
    dx = (shift[:, 1] * (2 * sx + 1)).long() - sx
    padded = torch.nn.functional.pad(x, (sx, sx, sy, sy))  # (N, C, H + 2sy, W + 2sx)
    rows = (torch.arange(h, device=x.device)[None, :] + sy - dy[:, None])  # (N, H)
    cols = (torch.arange(w, device=x.device)[None, :] + sx - dx[:, None])  # (N, W)
    idx_n = torch.arange(n, device=x.device)[:, None, None]
    out = padded.permute(0, 2, 3, 1)[idx_n, rows[:, :, None], cols[:, None, :]]  # (N, H, W, C)
    return out.permute(0, 3, 1, 2)


def cutout(x: torch.Tensor, generator=None, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of side ``ratio``·size at a random place in each image."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    corner = torch.rand(n, 2, device=x.device, generator=generator)
    y0 = (corner[:, 0] * (h + 1 - ch)).long()[:, None, None]  # (N, 1, 1)
    x0 = (corner[:, 1] * (w + 1 - cw)).long()[:, None, None]
    yy = torch.arange(h, device=x.device)[None, :, None]
    xx = torch.arange(w, device=x.device)[None, None, :]
    inside = (yy >= y0) & (yy < y0 + ch) & (xx >= x0) & (xx < x0 + cw)  # (N, H, W)
    return x * (~inside)[:, None].to(x.dtype)


_OPS = {"brightness": brightness, "contrast": contrast, "translation": translation,
        "cutout": cutout}


def diff_augment(x: torch.Tensor, policy=POLICIES, generator=None) -> torch.Tensor:
    """Apply each augmentation of ``policy`` in order to ``x (N, C, H, W)``; differentiable in ``x``."""
    for name in policy:
        x = _OPS[name](x, generator)
    return x
