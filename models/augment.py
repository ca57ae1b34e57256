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


# --- ADA: the same kind of augmentations, each applied with an adaptive probability p ---------
#
# Karras et al. (2020) apply every augmentation with probability p and steer p by how much the
# discriminator overfits: r_t = E[sign(D(real))] is 0 when D cannot tell its training reals from
# fakes and approaches 1 as it memorises them. p rises while r_t is above ``target`` (0.6 in the
# paper) and falls below it. At p < 0.8 these operations do not leak into the generator's
# images (the paper's finding), so p is capped there. The ops are the paper's "blit" and colour
# groups minus hue/saturation (one channel): x-flips and 90° rotations are exact symmetries of a
# microscopy field, integer translation, brightness and contrast.

ADA_MAX_P = 0.8


def _where(mask: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return torch.where(mask[:, None, None, None], a, b)


def ada_augment(x: torch.Tensor, p: float, generator=None) -> torch.Tensor:
    """Each of flip, rotation by k·90°, translation, brightness and contrast applied to each
    image of ``x (N, C, S, S)`` independently with probability ``p``; differentiable in ``x``."""
    if p <= 0:
        return x
    n = len(x)
    hit = lambda: torch.rand(n, device=x.device, generator=generator) < p  # noqa: E731
    x = _where(hit(), x.flip(-1), x)
    k = (torch.rand(n, device=x.device, generator=generator) * 4).long() * hit()  # (N,) 0 = none
    rots = torch.stack([torch.rot90(x, r, dims=(-2, -1)) for r in range(4)])   # (4, N, C, S, S)
    x = rots[k, torch.arange(n, device=x.device)]
    for op in (translation, brightness, contrast):
        x = _where(hit(), op(x, generator), x)
    return x


class AdaptiveP:
    """The ADA controller: ``update(d_real)`` after each D step, ``p`` for the next batches.

    ``speed_images``: images over which p may move from 0 to 1. The paper uses 500k; a budget
    of minutes on a CPU shows ~100k images in all, so the default is 20k (p can reach its cap
    in ~600 steps of 32 images). p is adjusted every ``interval`` D steps from the mean signal
    over them.
    """

    def __init__(self, target: float = 0.6, speed_images: int = 20_000, interval: int = 4):
        self.target, self.speed, self.interval = target, speed_images, interval
        self.p, self._signs, self._n = 0.0, 0.0, 0
        self.rt = 0.0

    def update(self, signal: torch.Tensor) -> None:
        """``signal (N,)``: per-image overfitting signs (``GANVariant.overfit_signal``)."""
        self._signs += float(signal.sum())
        self._n += len(signal)
        if self._n >= self.interval * len(signal):
            self.rt = self._signs / self._n
            step = self._n / self.speed
            self.p = min(ADA_MAX_P, max(0.0, self.p + step * (1 if self.rt > self.target else -1)))
            self._signs, self._n = 0.0, 0

    def state_dict(self) -> dict:
        return {"p": self.p, "rt": self.rt, "signs": self._signs, "n": self._n}

    def load_state_dict(self, state: dict) -> None:
        self.p, self.rt, self._signs, self._n = state["p"], state["rt"], state["signs"], state["n"]
