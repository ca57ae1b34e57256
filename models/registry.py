"""The registry of GAN variants: a variant module decorates its class with ``@register_variant``."""
from __future__ import annotations

import re

from bench.errors import MitoError
from models.base import GANVariant

_REGISTRY: dict[str, type[GANVariant]] = {}
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")


def register_variant(cls: type[GANVariant]) -> type[GANVariant]:
    """Add a ``GANVariant`` subclass under ``cls.name``; refuses bad or duplicate names."""
    if not (isinstance(cls, type) and issubclass(cls, GANVariant)):
        raise TypeError(f"{cls!r} is not a GANVariant subclass")
    if not _NAME.match(cls.name or ""):
        raise ValueError(f"bad variant name {cls.name!r}: lower-case letters, digits and '-'")
    if cls.name in _REGISTRY:
        raise ValueError(f"variant {cls.name!r} is already registered ({_REGISTRY[cls.name].__module__})")
    _REGISTRY[cls.name] = cls
    return cls


def list_variants() -> list[str]:
    return sorted(_REGISTRY)


def get_variant(name: str, **options) -> GANVariant:
    """A fresh instance of variant ``name`` with its ``options`` set (``MitoError`` if unknown)."""
    if name not in _REGISTRY:
        raise MitoError("gan", f"unknown GAN variant {name!r} (choose from {', '.join(list_variants())})")
    return _REGISTRY[name](**options)
