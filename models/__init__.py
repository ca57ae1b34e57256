"""GAN variants by name: ``get_variant("wgan-gp")``.

Every variant subclasses ``models.base.GANVariant`` (its docstring states the contract) and
registers itself with ``@register_variant``; a new variant is one module plus one import line.
"""
from models.base import GANVariant
from models.registry import get_variant, list_variants, register_variant

# built-in variants (importing a module registers its variant)
from models import dcgan, fastgan, lsgan, projected, r1, sngan, wgan, wgan_gp  # noqa: E402,F401

__all__ = ["GANVariant", "get_variant", "list_variants", "register_variant"]
