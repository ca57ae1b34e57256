"""The feature-extractor contract and the float-frame data set torch-fidelity reads.

Every extractor is two things at once:

* a :class:`Extractor` (this module) that the project calls: ``.name``, ``.weights_hash``,
  ``.prep_key`` and ``.features(imgs)``;
* a ``torch_fidelity.FeatureExtractorBase`` subclass registered in torch-fidelity under the same
  name, so that ``torch_fidelity.calculate_metrics(feature_extractor=NAME, ...)`` uses the same
  network and weights.

Frames reach either face as tensors made by :class:`FramesDataset` (float32, or uint8 rounded
in torch for 8-bit RGB networks): never through PIL, so 16-bit dynamic range survives.
``Extractor.features`` runs the torch-fidelity module on whole batches sliced from the data set
(torch-fidelity's own loop goes through a DataLoader item by item, about 3x slower for small
frames); the numbers are the same, which ``tests/test_extractors.py`` checks.
"""
from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from pathlib import Path

import numpy as np
import torch
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from tqdm import tqdm

from bench.errors import MitoError


class FramesDataset(torch.utils.data.Dataset):
    """Frames ``(N, 1, H, W)`` float32 in [0, 1] served one by one to torch-fidelity.

    Parameters
    ----------
    imgs : np.ndarray
        ``(N, 1, H, W)`` (or ``(N, H, W)``) float32 in [0, 1].
    as_uint8_rgb : bool
        Serve ``(3, H, W)`` uint8 (rounded, not truncated, and never through PIL) for extractors
        that are defined on 8-bit RGB such as Inception; otherwise ``(1, H, W)`` float32.
    """

    def __init__(self, imgs: np.ndarray, as_uint8_rgb: bool = False):
        imgs = np.asarray(imgs, dtype=np.float32)
        if imgs.ndim == 3:
            imgs = imgs[:, None]
        if imgs.ndim != 4 or imgs.shape[1] != 1:
            raise MitoError("frames", f"expected (N, 1, H, W) frames, got shape {imgs.shape}")
        self.imgs = torch.from_numpy(np.ascontiguousarray(np.clip(imgs, 0.0, 1.0)))  # (N, 1, H, W)
        self.as_uint8_rgb = as_uint8_rgb

    def __len__(self) -> int:
        return self.imgs.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.batch(i, i + 1)[0]  # (1, H, W) float32 or (3, H, W) uint8

    def batch(self, start: int, stop: int) -> torch.Tensor:
        """Frames ``start:stop`` as one tensor, converted as ``__getitem__`` converts one."""
        x = self.imgs[start:stop]  # (B, 1, H, W)
        if self.as_uint8_rgb:
            return (x * 255.0).round().to(torch.uint8).expand(-1, 3, -1, -1).contiguous()  # (B, 3, H, W)
        return x


def file_sha256(path: Path) -> str:
    """sha256 hex digest of a file (weights are versioned by it)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


class Extractor(ABC):
    """A named image embedding used by every distribution metric.

    Contract: ``features(imgs)`` maps ``(N, 1, H, W)`` float32 frames in [0, 1] of any size to
    ``(N, D)`` float32 features, deterministically (same input, same weights → same output on the
    CPU). ``weights_hash`` changes whenever the weights do and ``prep_key`` whenever the way frames
    are prepared for the network does; both enter the feature cache key so stale features are
    never reused. Subclasses set ``name``, ``layer`` (the torch-fidelity feature name) and
    ``uint8_rgb`` and implement :meth:`fidelity_module`.
    """

    name: str = ""
    layer: str = ""
    uint8_rgb: bool = False

    @property
    @abstractmethod
    def weights_hash(self) -> str:
        """sha256 of the weights file (or of the state dict)."""

    @property
    @abstractmethod
    def prep_key(self) -> str:
        """Short string naming the input preparation inside the network (size, scaling)."""

    @abstractmethod
    def fidelity_module(self) -> FeatureExtractorBase:
        """The torch-fidelity feature extractor (eval mode, on the CPU) with this extractor's weights."""

    @property
    def fidelity_kwargs(self) -> dict:
        """Keyword arguments torch-fidelity needs to build the same module by name."""
        return {}

    def features(self, imgs: np.ndarray, batch: int = 128, verbose: bool = False) -> np.ndarray:
        """Embed frames: ``(N, 1, H, W)`` float32 [0, 1] → ``(N, D)`` float32."""
        if len(imgs) == 0:
            raise MitoError(self.name, "no frames to embed")
        module = self._module_cached()
        data = FramesDataset(imgs, self.uint8_rgb)
        out = []
        with torch.no_grad():
            for i in tqdm(range(0, len(data), batch), desc=f"features {self.name}", unit="batch",
                          disable=not verbose, leave=False):
                feats = module.convert_features_tuple_to_dict(module(data.batch(i, i + batch)))
                out.append(feats[self.layer].float().cpu())
        return torch.cat(out).numpy().astype(np.float32)  # (N, D)

    def _module_cached(self) -> FeatureExtractorBase:
        if getattr(self, "_module", None) is None:
            self._module = self.fidelity_module()
        return self._module
