"""Least-squares GAN (Mao et al. 2017): squared error to targets 1 (real) and 0 (fake)."""
from __future__ import annotations

from models.base import GANVariant
from models.registry import register_variant


@register_variant
class LSGAN(GANVariant):
    """D minimises ½E[(D(x)−1)²] + ½E[D(G(z))²]; G minimises ½E[(D(G(z))−1)²]."""

    name = "lsgan"

    def d_loss(self, d_real, d_fake):
        return 0.5 * ((d_real - 1) ** 2).mean() + 0.5 * (d_fake ** 2).mean()

    def g_loss(self, d_fake):
        return 0.5 * ((d_fake - 1) ** 2).mean()

    def saturated(self, d_real, d_fake):
        # scores are regressed onto 1 / 0, not logits: saturation = both batches on their target
        return bool((d_real - 1).abs().max() < 0.01 and d_fake.abs().max() < 0.01)
