"""Compare two sets of frames with every registered metric, each next to its real-vs-real floor.

The suite is the registry (:data:`analysis.metrics.base.METRICS`) looped over one (real,
generated) pair; the floor (:mod:`analysis.metrics.splits`) is the same loop between by-movie
halves of the real set. Real-only work (real features, real morphology table, the floor) is
cached on disk by the real data's content hash, the extractor's weights hash and the
preprocessing key, so scoring a second generator against the same real set only embeds and
measures the generated frames.
"""
from __future__ import annotations

import numpy as np
from tqdm.auto import tqdm

from analysis import morphology
from analysis.extractors import get_extractor
from analysis.extractors.base import Extractor
from analysis.extractors.cache import array_hash, cached_features, cached_object, feature_key
from analysis.fidelity import MIN_FRAMES, kid_subset_size
from analysis.metrics.base import METRICS, Pair, selected
from analysis.metrics.splits import floor_halves, morph_sample, ndb_bins
from bench.errors import MitoError

SUITE_VERSION = "5"  # bump when a metric's definition changes: invalidates cached floors


def metric_suite(real: np.ndarray, fake: np.ndarray, real_feats: np.ndarray, fake_feats: np.ndarray,
                 real_morph, fake_morph, *, real_movie_ids: np.ndarray, n_bins: int, seed: int = 0,
                 fidelity_only: bool = False) -> dict:
    """Every registered metric of one (real, fake) pair; frames ``(N, 1, H, W)``, features
    ``(N, D)``, ``real_movie_ids`` ``(N,)`` (for the density / coverage radii). Metrics needing
    morphology are skipped when ``real_morph`` is None; ``fidelity_only``: just the metrics
    registered ``fidelity=True`` (fid / kid / precision / recall)."""
    pair = Pair(real, fake, real_feats, fake_feats, real_morph, fake_morph,
                np.asarray(real_movie_ids), n_bins, seed)
    out: dict[str, float] = {}
    for metric in selected(fidelity_only=fidelity_only, morphology=real_morph is not None):
        out.update(metric(pair))
    return out


def _check(x: np.ndarray, where: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim == 3:
        x = x[:, None]
    if x.ndim != 4 or x.shape[1] != 1:
        raise MitoError(where, f"expected frames (N, 1, H, W), got shape {x.shape}")
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        raise MitoError(where, "frames must be finite and in [0, 1]")
    return x


def compare_arrays(real: np.ndarray, fake: np.ndarray, *, real_movie_ids=None,
                   extractor: str | Extractor = "mito-ssl", workspace=None, real_key: str = "",
                   fake_key: str = "", seed: int = 0, morphology_metrics: bool = True,
                   use_cache: bool = True, fidelity_only: bool = False,
                   out_tables: dict | None = None) -> dict:
    """Score ``fake`` against ``real`` and give the real-vs-real floor of every metric.

    Parameters
    ----------
    real, fake : np.ndarray
        ``(N, 1, H, W)`` and ``(M, 1, H, W)`` float32 in [0, 1], same H, W.
    real_movie_ids : array-like, optional
        ``(N,)`` movie of each real frame (frames of a movie in time order), for the floor's split
        by movie and the density / coverage radii (:func:`knn_groups`); without it every frame
        counts as its own movie (a frame-level split, flagged in ``floor_split``).
    extractor : str or Extractor
        Feature space of fid/kid/precision/recall/density/coverage/ndb/vendi.
    workspace : path, optional
        Holds the feature / morphology / floor caches.
    real_key, fake_key : str
        Preprocessing keys of the two sets (part of the cache keys).
    fidelity_only : bool
        Score (and floor) only fid / kid / precision / recall, skipping the costlier rest of
        :func:`metric_suite`; morphology tables are still measured when ``morphology_metrics``.
    out_tables : dict, optional
        Filled with the morphology tables (``"real"``, ``"fake"``) when given, for figures.

    Returns
    -------
    dict
        ``n_real``, ``n_fake``, ``n_fake_morphology`` (see :func:`morph_sample`), ``extractor``,
        ``weights_hash``, ``kid_subset_size``,
        ``floor_split``, ``floor_splits`` (how many distinct splits), ``n_floor`` ([n_a, n_b] of
        the first), ``metrics``, ``floor`` (same keys: mean over the splits) and ``floor_sd``
        (their standard deviation; None for a single split).
    """
    real, fake = _check(real, "real frames"), _check(fake, "generated frames")
    if real.shape[2:] != fake.shape[2:]:
        raise MitoError("compare", f"real frames are {real.shape[2:]} px, generated {fake.shape[2:]} px")
    ex = get_extractor(extractor) if isinstance(extractor, str) else extractor
    movie_ids = np.arange(len(real)).astype(str) if real_movie_ids is None else np.asarray(real_movie_ids)
    splits, how = floor_halves(movie_ids, seed)
    halves = [h for h in splits if min(h.sum(), (~h).sum()) >= MIN_FRAMES]
    if not halves:
        half = splits[0]  # the balanced split: the best there is
        raise MitoError("compare", f"real set too small for a floor: halves of {half.sum()} and "
                        f"{(~half).sum()} frames (need >= {MIN_FRAMES} each)")
    half = halves[0]
    real_hash, fake_hash = array_hash(real), array_hash(fake)
    feats = lambda x, key, h=None: cached_features(ex, x, workspace=workspace, prep_key=key,  # noqa: E731
                                                   data_hash=h, use_cache=use_cache)
    real_f, fake_f = feats(real, real_key, real_hash), feats(fake, fake_key, fake_hash)
    morph = lambda x, key: cached_object("morphology", key + [morphology.MORPHOLOGY_VERSION],  # noqa: E731
                                         lambda: morphology.morphology_table(x[:, 0]),
                                         workspace=workspace, use_cache=use_cache)
    sample = morph_sample(len(fake), len(real), seed)  # (K,) generated frames measured
    real_m = morph(real, [real_hash]) if morphology_metrics else None
    fake_m = morph(fake[sample], [fake_hash, str(len(sample)), str(seed)]) if morphology_metrics else None
    if out_tables is not None and morphology_metrics:
        out_tables.update(real=real_m, fake=fake_m)
    n_bins = ndb_bins(int(min(min(h.sum(), (~h).sum()) for h in halves)))

    def floor():
        sub = lambda m: None if real_m is None else real_m[m].reset_index(drop=True)  # noqa: E731
        runs = [metric_suite(real[h], real[~h], real_f[h], real_f[~h], sub(h), sub(~h),
                             real_movie_ids=movie_ids[h], n_bins=n_bins, seed=seed,
                             fidelity_only=fidelity_only)
                for h in tqdm(halves, desc="real-vs-real floor", unit="split", leave=False,
                              disable=len(halves) < 2)]
        table = {k: np.array([r[k] for r in runs]) for k in runs[0]}  # metric -> (splits,)
        return {"floor": {k: float(v.mean()) for k, v in table.items()},
                "floor_sd": {k: float(v.std(ddof=1)) if len(v) > 1 else None for k, v in table.items()}}

    # the registered names are part of the key: a metric added to the registry gets its floor
    cache_key = [feature_key(ex, real_hash, real_key), ",".join(movie_ids), str(seed),
                 str(morphology_metrics), str(fidelity_only), str(len(halves)), "v" + SUITE_VERSION,
                 ",".join(METRICS.names())]
    floor_vals = cached_object("floors", cache_key, floor, workspace=workspace, use_cache=use_cache)
    metrics = metric_suite(real, fake, real_f, fake_f, real_m, fake_m, real_movie_ids=movie_ids,
                           n_bins=n_bins, seed=seed, fidelity_only=fidelity_only)
    return {"n_real": int(len(real)), "n_fake": int(len(fake)),
            "n_fake_morphology": int(len(sample)) if morphology_metrics else 0, "extractor": ex.name,
            "weights_hash": ex.weights_hash, "kid_subset_size": kid_subset_size(len(real), len(fake)),
            "floor_split": how, "floor_splits": len(halves), "n_floor": [int(half.sum()), int((~half).sum())],
            "ndb_bins": n_bins, "metrics": metrics, **floor_vals}


def format_table(result: dict, title: str = "") -> str:
    """Metric | value | floor table, with N and the feature space in the header."""
    m, f = result["metrics"], result["floor"]
    keys = [k for k in m if k in METRICS] + sorted(k for k in m if k not in METRICS)
    lines = [f"{title}  N_real={result['n_real']}  N_fake={result['n_fake']}  "
             f"extractor={result['extractor']}  floor: real-vs-real halves by {result['floor_split']} "
             f"(N={result['n_floor'][0]} vs {result['n_floor'][1]}, mean ± sd of "
             f"{result.get('floor_splits', 1)} splits)".strip(),
             f"{'metric':<24}{'value':>12}{'floor':>12}{'± sd':>10}"]
    sd = result.get("floor_sd") or {}
    lines += [f"{k:<24}{m[k]:>12.4g}{f.get(k, float('nan')):>12.4g}"
              f"{'' if sd.get(k) is None else format(sd[k], '.2g'):>10}" for k in keys]
    return "\n".join(lines)
