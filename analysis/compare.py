"""Compare two sets of frames with every metric, each next to its real-vs-real floor.

The floor is the same metric computed between two halves of the REAL set, split by movie (never
frames of one movie on both sides): what a perfect generator would score at this N. It is the
mean over up to ``FLOOR_SPLITS`` distinct splits, with their standard deviation (``floor_sd``),
so a gap to the floor can be read against the floor's own spread. Real-only
work (real features, real morphology table, the floor) is cached on disk by the real data's
content hash, the extractor's weights hash and the preprocessing key, so scoring a second
generator against the same real set only embeds and measures the generated frames.

Time-lapse real sets: consecutive frames of a movie are near-duplicates, so k-NN balls built on
real frames are set by a frame's own movie. Density / coverage therefore take each real ball's
radius over frames of OTHER movies (:func:`knn_groups`, ``real_groups`` of
:func:`analysis.diversity.density_coverage`); without that, coverage was 0 for every model and
for the floor. torch-fidelity's precision / recall keep their plain k-NN balls and suffer the
same shrinkage (read them against their floor, or prefer density / coverage).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tifffile
from tqdm.auto import tqdm

from analysis import diversity, morphology
from analysis.extractors import get_extractor
from analysis.extractors.base import Extractor
from analysis.extractors.cache import array_hash, cached_features, cached_object, feature_key
from analysis.fidelity import MIN_FRAMES, fidelity_from_features, kid_subset_size
from analysis.judge import movie_blocks
from bench.errors import MitoError
from preprocessing.readers import IMAGE_EXT

SUITE_VERSION = "5"  # bump when a metric's definition changes: invalidates cached floors
MS_SSIM_PAIRS = 200
DC_K = 5  # density / coverage neighbourhood (Naeem et al. 2020's default)
SINGLE_MOVIE_BLOCKS = 4  # one-movie real set: runs of consecutive frames stand in for movies
# Real-vs-real floor = mean over this many by-movie half splits (10, like Inception Score's
# splits); their spread is ``floor_sd``. One split's floor moves with which movies land together:
# FID floor 2.85 ± 1.1 on the 25 simulated movies of ``python -m bench.perf.metrics``.
FLOOR_SPLITS = 10
MORPH_MAX_FAKE, MORPH_FAKE_PER_REAL = 1000, 2  # see morph_sample
METRIC_ORDER = ["fid", "kid_mean", "kid_std", "precision", "recall", "density", "coverage", "ndb",
                "ndb_js", "vendi_real", "vendi_fake", "ms_ssim_real", "ms_ssim_fake", "morph_fd"]


@dataclass
class FrameSet:
    """Frames to compare: ``x`` ``(N, 1, size, size)`` float32 [0, 1], ``movie_ids`` ``(N,)`` str."""

    name: str
    x: np.ndarray
    movie_ids: np.ndarray
    key: str


def _read_image(path: Path) -> np.ndarray:
    """One image file → ``(Y, X)`` float32 in [0, 1], scaled by its dtype's range (16-bit kept)."""
    img = tifffile.imread(path) if path.suffix.lower() in {".tif", ".tiff"} else \
        cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise MitoError(path, "unreadable image")
    img = np.squeeze(img)
    if img.ndim == 3:  # colour: luminance (OpenCV files are BGR)
        img = img[..., :3].astype(np.float32) @ np.array([0.114, 0.587, 0.299], np.float32)
        img = img / (255.0 if img.max() <= 255 else 65535.0)
    elif img.ndim != 2:
        raise MitoError(path, f"expected a 2-D image, got shape {img.shape}")
    elif np.issubdtype(img.dtype, np.integer):
        img = img.astype(np.float32) / np.iinfo(img.dtype).max
    return np.clip(img.astype(np.float32), 0.0, 1.0)


def load_set(spec: str, *, workspace=None, pipeline: str = "normalize", size: int = 64) -> FrameSet:
    """A data set name (processed by ``pipeline`` at ``size``) or a folder of images.

    Folder images are read at full bit depth and area-resized to ``size``; the movie of an image
    is its sub-folder (images directly in the folder are each a movie of their own).
    """
    folder = Path(spec)
    if folder.is_dir():
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXT)
        if not files:
            raise MitoError(folder, f"no images ({', '.join(sorted(IMAGE_EXT))}) in this folder")
        x = np.stack([cv2.resize(_read_image(p), (size, size), interpolation=cv2.INTER_AREA)
                      for p in files])[:, None]  # (N, 1, size, size)
        ids = np.array([str(p.parent.relative_to(folder)) if p.parent != folder else p.stem for p in files])
        return FrameSet(folder.name, np.clip(x, 0, 1).astype(np.float32), ids, f"folder-{size}")
    from preprocessing.dataset import Dataset
    from preprocessing.pipeline import prepare

    prep = prepare(Dataset.load(spec, workspace), pipeline, size, workspace)
    return FrameSet(spec, prep.x, prep.movie_ids.astype(str), prep.key)


def halves_by_movie(movie_ids: np.ndarray, seed: int = 0, largest_first: bool = True) -> tuple[np.ndarray, str]:
    """Boolean mask of half A of the frames, and how the split was made.

    Movies go, one by one, to the half with fewer frames so far: largest first with ties broken
    by a seeded shuffle (the most balanced split), or in a seeded random order
    (``largest_first=False``: other splits for the floor's spread). One movie only: its first
    and second halves in time (``"time"``), said in the result.
    """
    movie_ids = np.asarray(movie_ids).astype(str)
    ids, counts = np.unique(movie_ids, return_counts=True)
    if len(ids) < 2:
        half = np.zeros(len(movie_ids), bool)
        half[: len(movie_ids) // 2] = True
        return half, "time"
    order = np.random.default_rng(seed).permutation(len(ids))
    if largest_first:
        order = order[np.argsort(-counts[order], kind="stable")]
    in_a, n_a, n_b = set(), 0, 0
    for i in order:
        if n_a <= n_b:
            in_a.add(ids[i])
            n_a += counts[i]
        else:
            n_b += counts[i]
    return np.isin(movie_ids, list(in_a)), "movie"


def floor_halves(movie_ids: np.ndarray, seed: int = 0, splits: int = FLOOR_SPLITS) -> tuple[list, str]:
    """Up to ``splits`` distinct by-movie half splits (masks of half A) for the floor, and how.

    The first is the balanced split of :func:`halves_by_movie`; the others fill the halves in
    seeded random movie orders. A split equal to an earlier one or to its mirror image is
    dropped, so two movies (or one, split in time) give a single split.
    """
    first, how = halves_by_movie(movie_ids, seed)
    halves, seen = [first], {first.tobytes(), (~first).tobytes()}
    for i in range(1, 4 * splits):  # a few tries each: small movie counts repeat splits
        if len(halves) == splits or how == "time":
            break
        half = halves_by_movie(movie_ids, seed + i, largest_first=False)[0]
        if half.tobytes() not in seen:
            halves.append(half)
            seen.update({half.tobytes(), (~half).tobytes()})
    return halves, how


def ndb_bins(n_small: int) -> int:
    """NDB bin count for small N: about 10 frames per bin of the smaller floor half, 2–50 bins."""
    return int(np.clip(n_small // 10, 2, 50))


def _whitener(ref: np.ndarray):
    """The whitening of :func:`standardize` fitted on ``ref`` ``(N, D)``, as a function of features.

    Fitted once, it whitens several sets by the same reference (Ledoit-Wolf plus an
    eigendecomposition per fit).
    """
    from sklearn.covariance import LedoitWolf

    lw = LedoitWolf().fit(ref)
    vals, vecs = np.linalg.eigh(lw.covariance_)
    w = vecs @ np.diag(1.0 / np.sqrt(np.clip(vals, 1e-12, None))) @ vecs.T  # C^-1/2, (D, D)
    return lambda feats: (feats - lw.location_) @ w


def standardize(feats: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Features whitened by the reference (real) set: ``(f - mean) @ C^-1/2``, C Ledoit-Wolf.

    Vendi uses cosine similarity; on raw post-ReLU features every pair is similar (all
    coordinates positive, shared directions), so distinct frames would not count as distinct.
    After whitening by the real covariance (shrunk, as N is small), unrelated real frames are
    near-orthogonal and k distinct frames give Vendi ≈ k.
    """
    return _whitener(ref)(feats)


def morph_sample(n_fake: int, n_real: int, seed: int = 0) -> np.ndarray:
    """Sorted indices of the generated frames whose morphology is measured: all of them up to
    ``max(MORPH_MAX_FAKE, MORPH_FAKE_PER_REAL * n_real)``, else a seeded random subset of that
    size. Beyond it the morphology distances' sampling error is set by the real side
    (``python -m bench.perf.metrics`` prints the spread over subsets); features use every frame."""
    cap = max(MORPH_MAX_FAKE, MORPH_FAKE_PER_REAL * n_real)
    if n_fake <= cap:
        return np.arange(n_fake)
    return np.sort(np.random.default_rng(seed).choice(n_fake, cap, replace=False))


def knn_groups(movie_ids: np.ndarray, blocks: int = SINGLE_MOVIE_BLOCKS) -> np.ndarray:
    """(N,) str groups for the density / coverage radii of a real set: its movies; a single
    movie (frames in time order) is cut into ``blocks`` runs of consecutive frames instead."""
    ids = np.asarray(movie_ids).astype(str)
    if len(np.unique(ids)) >= 2:
        return ids
    return movie_blocks(ids, np.arange(len(ids)), blocks)


def metric_suite(real: np.ndarray, fake: np.ndarray, real_feats: np.ndarray, fake_feats: np.ndarray,
                 real_morph, fake_morph, *, real_movie_ids: np.ndarray, n_bins: int, seed: int = 0,
                 fidelity_only: bool = False) -> dict:
    """Every metric of one (real, fake) pair; frames ``(N, 1, H, W)``, features ``(N, D)``,
    ``real_movie_ids`` ``(N,)`` (for the density / coverage radii, see :func:`knn_groups`).
    ``fidelity_only``: just fid / kid / precision / recall (:func:`fidelity_from_features`)."""
    out = fidelity_from_features(real_feats, fake_feats, seed=seed)  # floats already
    if fidelity_only:
        return out
    groups = knn_groups(real_movie_ids)  # (N,)
    k = min(DC_K, len(groups) - int(np.unique(groups, return_counts=True)[1].max()))
    out.update(diversity.density_coverage(real_feats, fake_feats, k=k, real_groups=groups))
    out.update(diversity.ndb(real_feats, fake_feats, n_bins=n_bins, seed=seed))
    whiten = _whitener(real_feats)
    out["vendi_real"] = diversity.vendi(whiten(real_feats))
    out["vendi_fake"] = diversity.vendi(whiten(fake_feats))
    out["ms_ssim_real"] = diversity.ms_ssim_intra(real, MS_SSIM_PAIRS, seed)
    out["ms_ssim_fake"] = diversity.ms_ssim_intra(fake, MS_SSIM_PAIRS, seed)
    if real_morph is not None:
        out.update(morphology.morph_distances(real_morph, fake_morph))
    return {k: float(v) for k, v in out.items()}


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

    floor_key = [feature_key(ex, real_hash, real_key), ",".join(movie_ids), str(seed),
                 str(morphology_metrics), str(fidelity_only), str(len(halves)), "v" + SUITE_VERSION]
    floor_vals = cached_object("floors", floor_key, floor, workspace=workspace, use_cache=use_cache)
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
    keys = [k for k in METRIC_ORDER if k in m] + sorted(k for k in m if k not in METRIC_ORDER)
    lines = [f"{title}  N_real={result['n_real']}  N_fake={result['n_fake']}  "
             f"extractor={result['extractor']}  floor: real-vs-real halves by {result['floor_split']} "
             f"(N={result['n_floor'][0]} vs {result['n_floor'][1]}, mean ± sd of "
             f"{result.get('floor_splits', 1)} splits)".strip(),
             f"{'metric':<24}{'value':>12}{'floor':>12}{'± sd':>10}"]
    sd = result.get("floor_sd") or {}
    lines += [f"{k:<24}{m[k]:>12.4g}{f.get(k, float('nan')):>12.4g}"
              f"{'' if sd.get(k) is None else format(sd[k], '.2g'):>10}" for k in keys]
    return "\n".join(lines)
