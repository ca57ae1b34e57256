"""Feature extractors: a small registry of named image embeddings, mirrored in torch-fidelity.

``get_extractor(name)`` returns an :class:`~analysis.extractors.base.Extractor`; every registered
name is also a torch-fidelity ``feature_extractor`` name, so torch-fidelity's FID/KID/PRC code
runs on the same network. Built in: ``mito-ssl`` (shipped weights) and ``inception-v3-compat``
(only when its weights are on this machine; see :mod:`analysis.extractors.inception`).
"""
from __future__ import annotations

import os
from typing import Callable

import torch_fidelity
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from analysis.extractors.base import Extractor, FramesDataset
from analysis.extractors.inception import InceptionExtractor, absent_notice, find_inception_weights
from analysis.extractors.mito_ssl import FidelityMitoSSL, MitoSSLExtractor
from bench.errors import MitoError
from bench.registry import Registry

_EXTRACTORS: Registry[Callable[..., Extractor]] = Registry("extractor", "--extractor", r"[a-z0-9][a-z0-9_.-]*")


def register_extractor(name: str, factory: Callable[..., Extractor], fidelity_cls=None) -> None:
    """Add an extractor under ``name``; also register ``fidelity_cls`` in torch-fidelity.

    Refuses bad names (lower-case letters, digits, ``_.-``) and names already taken here or in
    torch-fidelity (unless ``fidelity_cls`` is None, meaning torch-fidelity already knows the name).
    """
    _EXTRACTORS.check(name)  # before torch-fidelity hears of it
    if not callable(factory):
        raise MitoError("extractor registry", f"factory for {name!r} is not callable")
    if fidelity_cls is not None:
        if name in FEATURE_EXTRACTORS_REGISTRY:
            raise MitoError("extractor registry", f"torch-fidelity already has an extractor {name!r}")
        torch_fidelity.register_feature_extractor(name, fidelity_cls)
    elif name not in FEATURE_EXTRACTORS_REGISTRY:
        raise MitoError("extractor registry", f"{name!r} is unknown to torch-fidelity; pass fidelity_cls")
    _EXTRACTORS.add(name, factory)


def list_extractors() -> list[str]:
    """Every registered name (whether or not its weights are present)."""
    return sorted(_EXTRACTORS.names())


def get_extractor(name: str = "mito-ssl", **kwargs) -> Extractor:
    """Build the extractor ``name`` (``MitoError`` for unknown names or absent weights).

    ``kwargs`` go to its factory, e.g. ``weights=PATH``.
    """
    return _EXTRACTORS.get(name)(**kwargs)


def available_extractors(inception_weights: str | os.PathLike | None = None) -> list[str]:
    """Names usable right now: ``mito-ssl`` always; Inception only with local weights."""
    names = ["mito-ssl"]
    if find_inception_weights(inception_weights) is not None:
        names.append("inception-v3-compat")
    return names


register_extractor("mito-ssl", MitoSSLExtractor, FidelityMitoSSL)
register_extractor("inception-v3-compat", InceptionExtractor)

__all__ = ["Extractor", "FramesDataset", "absent_notice", "available_extractors", "get_extractor",
           "list_extractors", "register_extractor"]
