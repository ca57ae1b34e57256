"""The null for attribution: a discriminator with randomized weights (Adebayo et al. 2018).

Cascading randomization re-draws the weights of the top (output-side) layer first, then the
next one down, and so on until every layer is random. A map that survives this (high rank
correlation with the trained map) reflects the input and the architecture, not what the
discriminator learned, so its "salience" is not evidence of anything.
"""
from __future__ import annotations

import copy
import math
from collections.abc import Iterator

import numpy as np
import torch
from scipy.stats import rankdata
from torch import nn

SANITY_RHO_MAX = 0.8  # a method whose fully-randomized maps still correlate above this fails


def parametrized_layers(D: nn.Module) -> list[tuple[str, nn.Module]]:
    """Modules that own weights, in registration (= input-to-output) order.

    A spectral-normalised conv keeps its weight under ``parametrizations``; it is counted as
    one layer with the conv, not as a separate module."""
    out = []
    for name, m in D.named_modules():
        if ".parametrizations" in name or name.endswith("parametrizations"):
            continue
        if list(m.parameters(recurse=False)) or hasattr(m, "parametrizations"):
            out.append((name or "<root>", m))
    return out


def _layer_params(m: nn.Module) -> list[nn.Parameter]:
    params = list(m.parameters(recurse=False))
    if hasattr(m, "parametrizations"):
        for plist in m.parametrizations.values():
            params.append(plist.original)
    return params


def _reinit_(m: nn.Module, gen: torch.Generator) -> None:
    """Re-draw a layer's weights: N(0, 1/fan_in) for matrices/kernels (the scale of the
    default init), N(0, 0.1) for vectors (biases, norm scales around 1 for norm weights)."""
    with torch.no_grad():
        for p in _layer_params(m):
            if p.dim() >= 2:
                fan_in = p[0].numel()
                p.copy_(torch.randn(p.shape, generator=gen) / math.sqrt(fan_in))
            else:
                centre = 1.0 if isinstance(m, (nn.modules.batchnorm._NormBase, nn.GroupNorm,
                                               nn.LayerNorm)) and p is getattr(m, "weight", None) else 0.0
                p.copy_(centre + 0.1 * torch.randn(p.shape, generator=gen))


def cascading_randomization(D: nn.Module, seed: int = 0) -> Iterator[tuple[str, nn.Module]]:
    """Yield ``(layer_name, D_k)`` for k = 1..L: copies of ``D`` with its top k layers
    re-drawn (the last yield is the fully randomized discriminator). ``D`` is untouched."""
    gen = torch.Generator().manual_seed(seed)
    Dk = copy.deepcopy(D).eval()
    layers = dict(parametrized_layers(Dk))
    for name in reversed(list(layers)):
        _reinit_(layers[name], gen)
        yield name, copy.deepcopy(Dk)


def randomized(D: nn.Module, seed: int = 0) -> nn.Module:
    """The fully randomized discriminator (end of the cascade)."""
    last = None
    for _, last in cascading_randomization(D, seed):
        pass
    if last is None:
        raise ValueError("discriminator has no parameters to randomize")
    return last


def spearman_maps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Per-frame Spearman rank correlation between two stacks of maps (N, H, W) -> (N,).

    A constant map has no ranks to compare; its correlation is reported as 1 (it cannot
    distinguish the trained from the random network)."""
    ra = rankdata(a.reshape(len(a), -1), axis=1)  # (N, H*W)
    rb = rankdata(b.reshape(len(b), -1), axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    den = np.sqrt((ra ** 2).sum(1) * (rb ** 2).sum(1))
    num = (ra * rb).sum(1)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 1.0)
