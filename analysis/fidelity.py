"""FID, KID and precision/recall through torch-fidelity, made safe for ~600 frames.

Two entry points, same numbers:

* :func:`fidelity_from_features` runs torch-fidelity's metric functions (``fid_statistics_to_metric``,
  ``kid_features_to_metric``; precision/recall by :func:`precision_recall`, torch-fidelity's
  computation with a faster k-th neighbour) on features that came from the registered
  extractor (possibly from the feature cache), so real features are embedded once.
* :func:`fidelity_from_scratch` calls ``torch_fidelity.calculate_metrics`` end to end on two
  :class:`~analysis.extractors.base.FramesDataset` (float tensors, never PIL 8-bit) with the
  extractor named by its registry name: the baseline the benchmark compares against.

Small-N rules: the KID subset size is ``min(1000, min(N_real, N_fake) // 2)`` (torch-fidelity's default of
1000 fails below 1000 frames), and precision/recall use torch-fidelity's convention (input 1 =
generated, input 2 = real).
"""
from __future__ import annotations

import numpy as np
import torch
import torch_fidelity
from torch_fidelity.metric_fid import fid_features_to_statistics, fid_statistics_to_metric
from torch_fidelity.metric_kid import kid_features_to_metric

from analysis.extractors.base import Extractor, FramesDataset
from bench.errors import MitoError

KID_SUBSETS = 100
PRC_NEIGHBORHOOD = 3
MIN_FRAMES = 4  # below this FID's covariance and the k-NN balls are meaningless


def kid_subset_size(n_real: int, n_fake: int, cap: int = 1000) -> int:
    """KID subset size for small sets: half the smaller set (at most 1000).

    Never larger than either set; half rather than all of it, so the 100 subsets differ and
    ``kid_std`` measures something (with the whole set every subset is the same).
    """
    return int(max(2, min(cap, min(n_real, n_fake) // 2)))


def _common_kwargs(n_real: int, n_fake: int, seed: int) -> dict:
    k = min(PRC_NEIGHBORHOOD, n_real - 1, n_fake - 1)
    return {"kid_subsets": KID_SUBSETS, "kid_subset_size": kid_subset_size(n_real, n_fake),
            "kid_kernel": "poly", "kid_kernel_poly_degree": 3, "kid_kernel_poly_gamma": None,
            "kid_kernel_poly_coef0": 1, "prc_neighborhood": k, "prc_batch_size": 10000,
            "rng_seed": seed, "save_cpu_ram": False, "verbose": False}


def _check(n_real: int, n_fake: int) -> None:
    if min(n_real, n_fake) < MIN_FRAMES:
        raise MitoError("fidelity", f"need at least {MIN_FRAMES} frames per set, got "
                        f"{n_real} real and {n_fake} generated")


def fidelity_from_features(real_feats: np.ndarray, fake_feats: np.ndarray, seed: int = 0) -> dict:
    """``fid``, ``kid_mean``, ``kid_std``, ``precision``, ``recall`` from ``(N, D)`` / ``(M, D)`` features."""
    _check(len(real_feats), len(fake_feats))
    # FID statistics in float64 (covariances of ~600 rows); KID and PRC in float32 like
    # torch-fidelity itself (PRC's (M, M) distance matrix is the costliest step at M = 5000)
    real = torch.from_numpy(np.asarray(real_feats, dtype=np.float32))  # (N, D)
    fake = torch.from_numpy(np.asarray(fake_feats, dtype=np.float32))  # (M, D)
    kw = _common_kwargs(len(real), len(fake), seed)
    fid = fid_statistics_to_metric(fid_features_to_statistics(real.double()),
                                   fid_features_to_statistics(fake.double()), verbose=False)
    kid = kid_features_to_metric(fake, real, **kw)  # same order (and subset draws) as torch-fidelity
    precision, recall = precision_recall(fake, real, kw["prc_neighborhood"])
    return {"fid": float(fid["frechet_inception_distance"]),
            "kid_mean": float(kid["kernel_inception_distance_mean"]),
            "kid_std": float(kid["kernel_inception_distance_std"]),
            "precision": precision, "recall": recall}


def precision_recall(fake: torch.Tensor, real: torch.Tensor, k: int) -> tuple[float, float]:
    """torch-fidelity's ``calculate_precision_recall_full``, same distances and numbers.

    ``fake`` (M, D), ``real`` (N, D). The k-th neighbour radii come from ``topk`` instead of
    ``kthvalue``: 15x faster on the (M, M) distances of 5,000 generated frames (CPU).
    """
    def radii(x):  # distance to the k-th neighbour other than the point itself, (len(x),)
        return torch.cdist(x, x).topk(k + 1, dim=1, largest=False).values[:, -1]

    dist = torch.cdist(real, fake)  # (N, M)
    recall = (dist <= radii(fake)).any(dim=1).float().mean().item()  # real inside a fake ball
    precision = (dist.T <= radii(real)).any(dim=1).float().mean().item()  # fake inside a real ball
    return precision, recall


def fidelity_from_scratch(real: np.ndarray, fake: np.ndarray, extractor: Extractor, seed: int = 0) -> dict:
    """The same five numbers via one ``torch_fidelity.calculate_metrics`` call (no cache).

    Parameters
    ----------
    real, fake : np.ndarray
        ``(N, 1, H, W)`` and ``(M, 1, H, W)`` float32 in [0, 1].
    extractor : Extractor
        Its registry name is the torch-fidelity ``feature_extractor``; its weights path is
        passed explicitly, so nothing is looked up online.
    """
    _check(len(real), len(fake))
    out = torch_fidelity.calculate_metrics(
        input1=FramesDataset(fake, extractor.uint8_rgb), input2=FramesDataset(real, extractor.uint8_rgb),
        fid=True, kid=True, prc=True, feature_extractor=extractor.name,
        feature_layer_fid=extractor.layer, feature_layer_kid=extractor.layer,
        feature_layer_prc=extractor.layer, cuda=False, cache=False, batch_size=128,
        **{**_common_kwargs(len(real), len(fake), seed), "save_cpu_ram": True},
        **extractor.fidelity_kwargs)
    return {"fid": float(out["frechet_inception_distance"]),
            "kid_mean": float(out["kernel_inception_distance_mean"]),
            "kid_std": float(out["kernel_inception_distance_std"]),
            "precision": float(out["precision"]), "recall": float(out["recall"])}
