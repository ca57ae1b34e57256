"""The registry of GAN variants: a variant module decorates its class with ``@register_variant``."""
from __future__ import annotations

from bench.registry import Registry
from models.base import GANVariant

_VARIANTS: Registry[type[GANVariant]] = Registry("GAN variant", "gan", r"[a-z][a-z0-9-]*")


def register_variant(cls: type[GANVariant]) -> type[GANVariant]:
    """Add a ``GANVariant`` subclass under ``cls.name`` (lower-case letters, digits and '-');
    refuses bad or duplicate names."""
    if not (isinstance(cls, type) and issubclass(cls, GANVariant)):
        raise TypeError(f"{cls!r} is not a GANVariant subclass")
    return _VARIANTS.add(cls.name, cls)


def list_variants() -> list[str]:
    return sorted(_VARIANTS.names())


def get_variant(name: str, **options) -> GANVariant:
    """A fresh instance of variant ``name`` with its ``options`` set (``MitoError`` if unknown)."""
    return _VARIANTS.get(name)(**options)
