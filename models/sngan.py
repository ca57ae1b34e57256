"""SNGAN (Miyato et al. 2018): spectrally normalised discriminator with the hinge loss."""
from __future__ import annotations

import torch.nn.functional as F

from models.base import GANVariant
from models.registry import register_variant


@register_variant
class SNGAN(GANVariant):
    """D minimises E[relu(1−D(x))] + E[relu(1+D(G(z)))]; G minimises −E[D(G(z))]."""

    name = "sngan"
    d_norm = "none"
    spectral = True
    betas = (0.0, 0.9)

    def d_loss(self, d_real, d_fake):
        return F.relu(1 - d_real).mean() + F.relu(1 + d_fake).mean()

    def g_loss(self, d_fake):
        return -d_fake.mean()

    def saturated(self, d_real, d_fake):
        # beyond the margins the hinge loss is flat: D receives no gradient from either batch
        return bool(d_real.min() > 1 and d_fake.max() < -1)
