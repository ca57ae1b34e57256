"""On-disk feature cache: features are reused only for the same extractor, weights, input
preparation and data.

Key = sha256 of (extractor name, extractor weights sha256, extractor input preparation, the
caller's preprocessing key, data hash). The data hash defaults to the sha256 of the frames' bytes
and shape, so any pixel change is a cache miss.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from analysis.extractors.base import Extractor
from bench.workspace import atomic_write, cache_dir, workspace_dir


def array_hash(imgs: np.ndarray) -> str:
    """sha256 of a float32 C-contiguous copy of ``imgs`` plus its shape."""
    a = np.ascontiguousarray(imgs, dtype=np.float32)
    h = hashlib.sha256(str(a.shape).encode())
    h.update(memoryview(a).cast("B"))
    return h.hexdigest()


def feature_key(extractor: Extractor, data_hash: str, prep_key: str = "") -> str:
    parts = [extractor.name, extractor.weights_hash, extractor.prep_key, prep_key, data_hash]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def cached_features(extractor: Extractor, imgs: np.ndarray, *, workspace=None, prep_key: str = "",
                    data_hash: str | None = None, use_cache: bool = True) -> np.ndarray:
    """``extractor.features(imgs)`` ``(N, D)`` float32, read from / written to the feature cache.

    Parameters
    ----------
    imgs : np.ndarray
        ``(N, 1, H, W)`` float32 in [0, 1].
    workspace : path, optional
        Workspace whose ``cache/features`` folder holds the cache.
    prep_key : str
        The caller's preprocessing key (e.g. ``Prepared.key``), part of the cache key.
    data_hash : str, optional
        Content hash of ``imgs`` when the caller knows it; computed otherwise.
    """
    if not use_cache:
        return extractor.features(imgs)
    key = feature_key(extractor, data_hash or array_hash(imgs), prep_key)
    path = Path(cache_dir(workspace_dir(workspace), "features")) / f"{key}.npy"
    if path.is_file():
        feats = np.load(path)
        if feats.shape[0] == len(imgs):
            return feats
    feats = extractor.features(imgs)
    atomic_write(path, lambda tmp: np.save(tmp, feats))
    return feats


def cached_object(kind: str, key_parts: list[str], compute, *, workspace=None, use_cache: bool = True):
    """``compute()`` cached under ``cache/<kind>/`` by the key parts: a ``pandas.DataFrame`` of
    numbers (stored as ``.npz``) or a JSON-able dict (``.json``). Never a pickle: a cache file
    is read back, and unpickling a planted file would run its code.

    Used for real-side results that depend only on the real set (morphology tables, floors).
    """
    if not use_cache:
        return compute()
    key = hashlib.sha256("\x1f".join(key_parts).encode()).hexdigest()[:32]
    root = Path(cache_dir(workspace_dir(workspace), kind))
    table, doc = root / f"{key}.npz", root / f"{key}.json"
    if table.is_file():
        import pandas as pd
        with np.load(table, allow_pickle=False) as z:
            return pd.DataFrame(z["values"], columns=[str(c) for c in z["columns"]])
    if doc.is_file():
        return json.loads(doc.read_text())
    value = compute()
    if isinstance(value, dict):
        atomic_write(doc, lambda tmp: tmp.write_text(json.dumps(value)))
    else:  # a DataFrame of numbers (morphology tables)
        atomic_write(table, lambda tmp: np.savez(tmp, values=value.to_numpy(np.float64),
                                                 columns=np.asarray(value.columns, str)))
    return cached_object(kind, key_parts, compute, workspace=workspace)  # as a later hit reads it
