"""The ``mito-ssl`` extractor: shipped SimCLR encoder weights, registered in torch-fidelity.

Weights file format (``torch.save``): ``{"config": {"size", "width"}, "state_dict": {...}}``.
The sidecar ``<weights>.json`` records how they were trained (command, data hash, steps, seed,
linear-probe figures); it is documentation, never read to compute features. The architecture,
the shipped file (``WEIGHTS``, in ``models/weights/``), :func:`default_weights` and
:func:`load_encoder` live in ``models.encoder`` (the ``projected`` discriminator loads the same
network) and are re-exported here.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from torch import nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase

from analysis.extractors.base import Extractor, file_sha256
from bench.errors import MitoError
from bench.workspace import atomic_write
from models.encoder import ENV_VAR, WEIGHTS, SSLEncoder, default_weights, load_encoder

LAYER = "embedding"


def save_encoder(enc: SSLEncoder, path: Path, info: dict | None = None) -> str:
    """Write encoder weights (atomically) and a JSON sidecar; returns the file's sha256."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().cpu().clone() for k, v in enc.state_dict().items()}
    atomic_write(path, lambda tmp: torch.save({"config": {"size": enc.size, "width": enc.width},
                                              "state_dict": state}, tmp))
    digest = file_sha256(path)
    side = json.dumps({"sha256": digest, **(info or {})}, indent=2, default=str)
    atomic_write(path.with_suffix(".json"), lambda tmp: tmp.write_text(side))
    return digest


class FidelityMitoSSL(FeatureExtractorBase):
    """torch-fidelity face of ``mito-ssl``: float ``(N, 1, H, W)`` in [0, 1] → ``(N, D)``.

    ``feature_extractor_weights_path`` (torch-fidelity's keyword) picks the weights file; default
    :func:`default_weights`. Feature layer ``embedding`` serves FID, KID and PRC alike.
    """

    def __init__(self, name, features_list, feature_extractor_weights_path=None, encoder=None, **kwargs):
        super().__init__(name, features_list)
        self.encoder = encoder if encoder is not None else load_encoder(
            Path(feature_extractor_weights_path or default_weights()))
        self.requires_grad_(False)
        self.eval()

    @staticmethod
    def get_provided_features_list():
        return (LAYER,)

    @staticmethod
    def get_default_feature_layer_for_metric(metric):
        return LAYER

    @staticmethod
    def can_be_compiled():
        return False

    @staticmethod
    def get_dummy_input_for_compile():
        return torch.zeros(1, 1, 64, 64)

    def forward(self, x):
        if x.dim() != 4 or x.shape[1] != 1 or not x.is_floating_point():
            raise MitoError("mito-ssl", f"expects float (N, 1, H, W) frames in [0, 1], got "
                            f"{x.dtype} {tuple(x.shape)}")
        return (self.encoder(x),)


class MitoSSLExtractor(Extractor):
    """``mito-ssl`` from a weights file (default: shipped), or from an in-memory encoder.

    Parameters
    ----------
    weights : Path, optional
        Weights file; default :func:`default_weights`.
    encoder : nn.Module, optional
        Use this encoder instead of a file (e.g. a random-init baseline or a fresh training);
        its hash is then the sha256 of its state dict.
    """

    name = "mito-ssl"
    layer = LAYER
    uint8_rgb = False

    def __init__(self, weights: Path | None = None, encoder: nn.Module | None = None):
        self.encoder = encoder
        self.weights = None if encoder is not None else Path(weights or default_weights())
        if self.weights is not None and not self.weights.is_file():
            raise MitoError(self.weights, "no mito-ssl weights here (train them: `mitogan encoder train`)")
        self._hash = None

    @property
    def weights_hash(self) -> str:
        if self._hash is None:
            if self.weights is not None:
                self._hash = file_sha256(self.weights)
            else:
                h = hashlib.sha256()
                for k, v in sorted(self.encoder.state_dict().items()):
                    h.update(k.encode())
                    h.update(v.detach().cpu().numpy().tobytes())
                self._hash = h.hexdigest()
        return self._hash

    @property
    def prep_key(self) -> str:
        enc = self.encoder or self._module_cached().encoder
        return f"float01-resize{enc.size}-bilinear-aa"

    @property
    def fidelity_kwargs(self) -> dict:
        return {} if self.weights is None else {"feature_extractor_weights_path": str(self.weights)}

    def fidelity_module(self) -> FeatureExtractorBase:
        return FidelityMitoSSL(self.name, [LAYER], feature_extractor_weights_path=self.weights,
                               encoder=self.encoder)


__all__ = ["ENV_VAR", "LAYER", "WEIGHTS", "FidelityMitoSSL", "MitoSSLExtractor", "SSLEncoder",
           "default_weights", "load_encoder", "save_encoder"]
