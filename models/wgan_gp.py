"""WGAN-GP (Gulrajani et al. 2017): gradient penalty λ=10, Adam β=(0, 0.9), 5 critic steps."""
from __future__ import annotations

from models.base import gradient_penalty
from models.registry import register_variant
from models.wgan import WGAN


@register_variant
class WGANGP(WGAN):
    """The WGAN critic loss plus ``gp_lambda·E[(‖∇D(x̂)‖−1)²]``; no clipping, no BatchNorm."""

    name = "wgan-gp"
    d_norm = "layer"  # the penalty is per sample, so the critic must not mix samples
    optimizer = "adam"
    lr_g = 1e-4
    lr_d = 1e-4
    betas = (0.0, 0.9)
    options = {"gp_lambda": 10.0}

    def penalty(self, D, real, fake, generator=None):
        return {"gp": self.gp_lambda * gradient_penalty(D, real, fake, generator)}

    def after_d_step(self, D):
        return None
