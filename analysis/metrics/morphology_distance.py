"""Distance between the morphology feature distributions of two sets of frames (tables from
:func:`analysis.morphology.morphology_table`): the ``morph_fd`` and ``wd_<feature>`` metrics."""
from __future__ import annotations

import numpy as np

from analysis.morphology import MORPH_FEATURES
from bench.errors import MitoError


def morph_distances(real_df, fake_df) -> dict[str, float]:
    """Distance between the morphology feature distributions of two sets of frames.

    Both tables are standardized with the REAL set's per-feature mean and std (std 0 -> 1) so
    that no unit dominates. ``morph_fd`` is the Fréchet distance between Gaussian fits of the
    standardized features; ``wd_<feature>`` the 1-D Wasserstein-1 distance of each feature
    (scipy), on the same standardized scale.

    Parameters
    ----------
    real_df, fake_df : pandas.DataFrame
        Tables from :func:`morphology_table` (columns ``MORPH_FEATURES``); >= 2 rows each.

    Returns
    -------
    dict[str, float]
        ``morph_fd`` and one ``wd_<feature>`` per feature.
    """
    from scipy.stats import wasserstein_distance

    for name, df in (("real", real_df), ("fake", fake_df)):
        missing = [c for c in MORPH_FEATURES if c not in df.columns]
        if missing or len(df) < 2:
            raise MitoError("morph_distances",
                            f"{name} table needs >= 2 rows and columns {missing or MORPH_FEATURES}")
    real = real_df[list(MORPH_FEATURES)].to_numpy(np.float64)  # (N, F)
    fake = fake_df[list(MORPH_FEATURES)].to_numpy(np.float64)  # (M, F)
    mu, sd = real.mean(0), real.std(0)
    sd[sd == 0] = 1.0
    real, fake = (real - mu) / sd, (fake - mu) / sd
    c1, c2 = np.cov(real, rowvar=False), np.cov(fake, rowvar=False)
    # tr sqrt(C1 C2) = sum of sqrt(eigenvalues of C1^1/2 C2 C1^1/2): symmetric PSD, so stable
    # even when a feature is constant in one set (singular covariance).
    vals, vecs = np.linalg.eigh(c1)
    root1 = vecs @ np.diag(np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root1 @ c2 @ root1), 0, None)).sum()
    fd = ((real.mean(0) - fake.mean(0)) ** 2).sum() + np.trace(c1) + np.trace(c2) - 2 * cross
    out = {"morph_fd": float(max(fd, 0.0))}
    for k, name in enumerate(MORPH_FEATURES):
        out[f"wd_{name}"] = float(wasserstein_distance(real[:, k], fake[:, k]))
    return out
