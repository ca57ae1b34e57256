"""``inception-v3-compat``: standard FID features, only from weights already on this machine.

torch-fidelity's own ``inception-v3-compat`` downloads its weights when no path is given. This
module replaces that registry entry with :class:`OfflineInceptionV3`, which looks for the file
locally (``--inception-weights PATH``, ``$MITOGAN_INCEPTION_WEIGHTS``, or the torch hub cache file
torch-fidelity itself would have written) and otherwise raises: no code path can reach the URL.
"""
from __future__ import annotations

import functools
import os
import re
from pathlib import Path

import torch.hub
from torch_fidelity import feature_extractor_inceptionv3 as tf_inception
from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

from analysis.extractors.base import Extractor, file_sha256
from bench.errors import MitoError

ENV_VAR = "MITOGAN_INCEPTION_WEIGHTS"
NAME = "inception-v3-compat"


def hub_cache_file() -> Path:
    """Where torch hub's URL loader would have cached torch-fidelity's weights (never fetched here)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / Path(tf_inception.URL_INCEPTION_V3).name


def find_inception_weights(path: str | os.PathLike | None = None) -> Path | None:
    """First existing of: ``path``, ``$MITOGAN_INCEPTION_WEIGHTS``, the torch hub cache file.

    An explicit ``path`` (or env var) that does not exist is an error, not a silent fallback.
    """
    for explicit, where in ((path, "--inception-weights"), (os.environ.get(ENV_VAR), ENV_VAR)):
        if explicit:
            p = Path(explicit).expanduser()
            if not p.is_file():
                raise MitoError(p, f"Inception weights file not found (given by {where})")
            return p
    cached = hub_cache_file()
    return cached if cached.is_file() else None


def absent_notice() -> str:
    """One line saying why standard FID is skipped and how to enable it."""
    return (f"notice: {NAME} skipped: no local Inception weights (pass --inception-weights PATH, set "
            f"{ENV_VAR}, or place {hub_cache_file().name} in {hub_cache_file().parent}); nothing is "
            "downloaded")


# torch hub's convention: the file name ends in the first hex digits of the file's sha256
SHA256_PREFIX = re.search(r"-([0-9a-f]{8,})\.", Path(tf_inception.URL_INCEPTION_V3).name).group(1)


@functools.lru_cache(maxsize=4)
def _sha256(path: Path, size: int, mtime_ns: int) -> str:  # size, mtime: a changed file is re-hashed
    return file_sha256(path)


def _require_weights(path: str | os.PathLike | None) -> Path:
    """:func:`find_inception_weights`, raising the :func:`absent_notice` when none is local, and
    refusing a file that is not torch-fidelity's published one: torch-fidelity unpickles it
    (``weights_only=False``), so a planted file would run its code."""
    found = find_inception_weights(path)
    if found is None:
        raise MitoError(NAME, absent_notice().removeprefix("notice: "))
    st = found.stat()
    digest = _sha256(found.resolve(), st.st_size, st.st_mtime_ns)
    if not digest.startswith(SHA256_PREFIX):
        raise MitoError(found, f"not the published Inception weights: sha256 {digest[:16]}... does "
                        f"not start with {SHA256_PREFIX} (the file torch-fidelity publishes); refusing "
                        "to load it")
    return found


class OfflineInceptionV3(tf_inception.FeatureExtractorInceptionV3):
    """torch-fidelity's InceptionV3 that refuses to download: weights must be local."""

    def __init__(self, name, features_list, feature_extractor_weights_path=None, **kwargs):
        path = _require_weights(feature_extractor_weights_path)
        super().__init__(name, features_list, feature_extractor_weights_path=str(path), **kwargs)


# Replace (not add) torch-fidelity's entry: its class would download when given no path.
FEATURE_EXTRACTORS_REGISTRY[NAME] = OfflineInceptionV3


class InceptionExtractor(Extractor):
    """Standard FID/KID features (2048-d pool3) of frames replicated to 8-bit RGB.

    Frames are rounded to uint8 in torch (never through PIL), replicated to three channels and
    resized to 299 px by torch-fidelity exactly as in the reference TF implementation.
    """

    name = NAME
    layer = "2048"
    uint8_rgb = True

    def __init__(self, weights: str | os.PathLike | None = None):
        self.weights = _require_weights(weights)
        self._hash = None

    @property
    def weights_hash(self) -> str:
        if self._hash is None:
            st = self.weights.stat()
            self._hash = _sha256(self.weights.resolve(), st.st_size, st.st_mtime_ns)
        return self._hash

    @property
    def prep_key(self) -> str:
        return "uint8-round-rgb3-resize299-tf1bilinear"

    @property
    def fidelity_kwargs(self) -> dict:
        return {"feature_extractor_weights_path": str(self.weights)}

    def fidelity_module(self):
        return OfflineInceptionV3(NAME, [self.layer], feature_extractor_weights_path=self.weights)
