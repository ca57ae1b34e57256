"""DCGAN with the non-saturating BCE generator loss (Radford et al. 2016; Goodfellow et al. 2014)."""
from __future__ import annotations

import torch.nn.functional as F

from models.base import GANVariant
from models.registry import register_variant


@register_variant
class DCGAN(GANVariant):
    """D minimises BCE(real→1, fake→0); G minimises −log σ(D(G(z))) (non-saturating)."""

    name = "dcgan"

    def d_loss(self, d_real, d_fake):
        return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()

    def g_loss(self, d_fake):
        return F.softplus(-d_fake).mean()
