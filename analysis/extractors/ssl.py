"""``mito-ssl``: a small convolutional encoder trained self-supervised (SimCLR) on microscopy frames.

Why a domain encoder: Inception weights cannot be downloaded at run time, and ImageNet features
describe dogs, not mitochondria. This encoder is trained with the NT-Xent (SimCLR) objective on
two augmented views of each frame; the augmentations are those a microscope produces without
changing morphology (flips and 90° rotations, crops, defocus blur, camera noise, brightness and
contrast), so the features keep what the augmentations leave alone: network shape.

The architecture, :class:`~models.encoder.SSLEncoder`, lives in ``models.encoder`` (a discriminator
runs it too) and is re-exported here; the weights ship in ``models/weights/mito_ssl.pt`` (a few
hundred kB), with a JSON sidecar saying how they were trained; ``mitogan encoder train`` rebuilds them.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from analysis.degradations import gaussian_blur
from bench.errors import MitoError
from models.encoder import SSLEncoder


def augment(x: torch.Tensor, gen: torch.Generator, size: int) -> torch.Tensor:
    """One random microscopy view of each frame: ``(N, 1, H, W)`` [0, 1] → ``(N, 1, size, size)``.

    Flip, rotation by k·90°, crop (scale 0.5–1 of the side) in one affine resampling; then a
    random amount of defocus blur, brightness/contrast change and Gaussian camera noise.
    """
    n = x.shape[0]
    u = lambda *shape: torch.rand(*shape, generator=gen)  # noqa: E731  (short local sampler)
    k = torch.randint(0, 4, (n,), generator=gen).float() * (math.pi / 2)
    flip = torch.where(u(n) < 0.5, -1.0, 1.0)
    scale = 0.5 + 0.5 * u(n)
    shift = (1 - scale)[:, None] * (2 * u(n, 2) - 1)
    cos, sin = torch.cos(k) * scale, torch.sin(k) * scale
    theta = torch.stack([torch.stack([cos * flip, -sin, shift[:, 0]], 1),
                         torch.stack([sin * flip, cos, shift[:, 1]], 1)], 1)  # (N, 2, 3)
    grid = F.affine_grid(theta, (n, 1, size, size), align_corners=False)
    v = F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
    blur_amount = u(n, 1, 1, 1) * (u(n, 1, 1, 1) < 0.5)
    v = torch.lerp(v, gaussian_blur(v, 1.5), blur_amount)
    contrast, brightness = 0.6 + 0.8 * u(n, 1, 1, 1), 0.2 * u(n, 1, 1, 1) - 0.1
    v = v * contrast + brightness
    v = v + 0.05 * u(n, 1, 1, 1) * torch.randn(v.shape, generator=gen)
    return v.clamp(0.0, 1.0)


def nt_xent(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.2) -> torch.Tensor:
    """SimCLR loss: each view must pick its partner among the 2N-1 others. z1, z2: ``(N, D)``."""
    z = F.normalize(torch.cat([z1, z2]), dim=1)  # (2N, D)
    sim = z @ z.T / temperature
    sim.fill_diagonal_(float("-inf"))
    n = z1.shape[0]
    target = torch.cat([torch.arange(n, 2 * n), torch.arange(0, n)])
    return F.cross_entropy(sim, target)


def train_ssl_encoder(imgs: np.ndarray, *, steps: int, seed: int, size: int = 64, batch: int = 64,
                      width: int = 16, lr: float = 2e-3, progress: bool = True) -> nn.Module:
    """Train an :class:`SSLEncoder` with SimCLR on frames; returns it in eval mode on the CPU.

    Parameters
    ----------
    imgs : np.ndarray
        ``(N, 1, H, W)`` float32 in [0, 1], N ≥ 2; resized to ``size`` once up front.
    steps, seed, size, batch, width, lr
        Optimizer steps, RNG seed (same seed → same weights on the CPU), encoder input side in
        pixels, pairs per step, channel width of the first stage, Adam learning rate.
    """
    imgs = np.asarray(imgs, dtype=np.float32)
    if imgs.ndim != 4 or imgs.shape[1] != 1 or len(imgs) < 2:
        raise MitoError("encoder", f"need (N >= 2, 1, H, W) frames to train on, got {imgs.shape}")
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    x_all = F.interpolate(torch.from_numpy(imgs), size=(size, size), mode="bilinear",
                          antialias=True, align_corners=False)  # (N, 1, size, size)
    enc = SSLEncoder(size=size, width=width)
    head = nn.Sequential(nn.Linear(enc.dim, enc.dim), nn.ReLU(), nn.Linear(enc.dim, 64))
    params = list(enc.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=lr, weight_decay=1e-5)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps))
    batch = min(batch, len(x_all))
    enc.train()
    bar = tqdm(range(steps), desc="mito-ssl SimCLR", disable=not progress, leave=False)
    for _ in bar:
        xb = x_all[torch.randperm(len(x_all), generator=gen)[:batch]]
        loss = nt_xent(head(enc(augment(xb, gen, size))), head(enc(augment(xb, gen, size))))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.3f}")
    return enc.eval().requires_grad_(False)
