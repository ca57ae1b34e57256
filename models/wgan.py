"""WGAN with weight clipping (Arjovsky et al. 2017): RMSprop, 5 critic steps per G step."""
from __future__ import annotations

import torch

from models.base import GANVariant
from models.registry import register_variant


@register_variant
class WGAN(GANVariant):
    """Critic maximises E[D(x)] − E[D(G(z))] with every weight clipped to [−clip, clip]."""

    name = "wgan"
    n_critic = 5
    optimizer = "rmsprop"
    lr_g = 5e-5
    lr_d = 5e-5
    options = {"clip": 0.01}

    def d_loss(self, d_real, d_fake):
        return d_fake.mean() - d_real.mean()

    def g_loss(self, d_fake):
        return -d_fake.mean()

    @torch.no_grad()
    def after_d_step(self, D):
        for p in D.parameters():
            p.clamp_(-self.clip, self.clip)

    def wasserstein(self, d_real, d_fake):
        return float(d_real.mean() - d_fake.mean())

    def overfit_signal(self, d_real, d_fake):
        # a critic's scores have no zero point: how far reals sit above the fakes' median instead
        return torch.sign(d_real.detach() - d_fake.detach().median())

    def saturated(self, d_real, d_fake):
        return False  # a critic's scores are unbounded: there is no saturation to detect
