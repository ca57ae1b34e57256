"""The one registry behind every extension point: ops, GAN variants, feature extractors,
attribution methods, judges, simulator morphology classes and report sections.

A new implementation is one class (or function) and one registration line; each package keeps
its own thin ``register_* / get_* / list_*`` functions for what is specific to it (an op's
parameters, torch-fidelity registration, instantiation).
"""
from __future__ import annotations

import re
from typing import Callable, Generic, TypeVar

from bench.errors import MitoError

T = TypeVar("T")


class RegistryError(MitoError, ValueError):
    """A bad or duplicate name at registration: a programming error, raised at import time."""


class Registry(Generic[T]):
    """Names → items, in registration order.

    Parameters
    ----------
    kind : str
        What the items are, in words ("op", "GAN variant"): used in every message.
    option : str
        The CLI option or config key that names an item, for the one-line error of :meth:`get`.
    pattern : str
        Regular expression a whole name must match.

    Contract: :meth:`add` refuses a name that does not match ``pattern`` or is already taken
    (:class:`RegistryError`, both a ``MitoError`` and a ``ValueError``); :meth:`get` turns an
    unknown name into a ``MitoError`` naming ``option`` and the known names.
    """

    def __init__(self, kind: str, option: str, pattern: str = r"[a-z][a-z0-9_-]*"):
        self.kind, self.option = kind, option
        self._pattern = re.compile(pattern)
        self._items: dict[str, T] = {}

    def check(self, name: str) -> None:
        """Raise :class:`RegistryError` unless ``name`` is well formed and free."""
        if not isinstance(name, str) or not self._pattern.fullmatch(name):
            raise RegistryError(f"{self.kind} registry", f"bad {self.kind} name {name!r}")
        if name in self._items:
            raise RegistryError(f"{self.kind} registry", f"{self.kind} {name!r} is already registered")

    def add(self, name: str, item: T) -> T:
        """Register ``item`` under ``name`` (after :meth:`check`) and return it."""
        self.check(name)
        self._items[name] = item
        return item

    def decorator(self, name: str) -> Callable[[T], T]:
        """``@registry.decorator(name)``: :meth:`add` the decorated class or function."""
        return lambda item: self.add(name, item)

    def get(self, name: str) -> T:
        """The item registered as ``name``."""
        if name not in self._items:
            raise MitoError(self.option, f"unknown {self.kind} {name!r} (known: {', '.join(sorted(self._items))})")
        return self._items[name]

    def names(self) -> list[str]:
        """Registered names, in registration order."""
        return list(self._items)

    def items(self) -> list[tuple[str, T]]:
        return list(self._items.items())

    def __contains__(self, name: object) -> bool:
        return name in self._items
