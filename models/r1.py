"""Non-saturating GAN with the R1 gradient penalty on real images (Mescheder et al. 2018)."""
from __future__ import annotations

from models.base import r1_penalty
from models.dcgan import DCGAN
from models.registry import register_variant


@register_variant
class R1GAN(DCGAN):
    """The DCGAN losses plus ``(gamma/2)·E[‖∇D(x)‖²]`` on real images; no BatchNorm in D."""

    name = "r1"
    d_norm = "none"
    betas = (0.0, 0.99)
    options = {"r1_gamma": 10.0}

    def penalty(self, D, real, fake, generator=None):
        return {"r1": 0.5 * self.r1_gamma * r1_penalty(D, real)}
