"""Known-answer checks of the metrics (``mitogan validate-metrics``).

Each check builds a "generator" whose answer is known from real frames and asserts the metric
moves the right way: real-vs-real sits at the floor; FID, KID and ``morph_fd`` rise with blur and
with noise; dropping a morphology class lowers recall and coverage and raises NDB; repeating k
frames gives Vendi ≈ k and a small birthday support; noisy copies of training frames trip the
memorization test while held-out frames do not; shifted class proportions raise ``morph_fd``.
Checks needing per-frame class labels (simulator) are reported ``n/a`` on unlabeled data.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from analysis import memorization, morphology
from analysis.degradations import add_noise, blur
from analysis.extractors.base import Extractor
from analysis.extractors.cache import cached_features
from analysis.protocol.score import DistinctCount
from analysis.metrics.morphology_distance import morph_distances
from analysis.metrics.splits import halves_by_movie
from analysis.metrics.suite import compare_arrays

BLUR_SIGMAS_PX = (0.5, 1.0, 2.0, 3.0)
NOISE_STDS = (0.02, 0.05, 0.1, 0.2)


@dataclass
class Frames:
    """Validation frames: ``x`` ``(N, 1, H, W)`` float32 [0, 1]; ``movie_ids``/``classes`` ``(N,)``."""

    name: str
    x: np.ndarray
    movie_ids: np.ndarray
    classes: np.ndarray | None = None


@dataclass
class Check:
    name: str
    passed: bool | None  # None: not applicable to this data
    detail: str


def _monotone(values) -> bool:
    return bool(np.all(np.diff(values) > 0))


def _fmt(values) -> str:
    return ", ".join(f"{v:.3g}" for v in values)


class Validator:
    """Runs the checks on one :class:`Frames` set with one extractor (features cached)."""

    def __init__(self, frames: Frames, extractor: Extractor, *, workspace=None, seed: int = 0):
        self.f, self.ex, self.ws, self.seed = frames, extractor, workspace, seed
        self.half, _ = halves_by_movie(frames.movie_ids, seed)  # A = "real", B = "generated"

    def feats(self, x):
        return cached_features(self.ex, x, workspace=self.ws)

    def compare(self, real, fake, real_ids, morph=True):
        return compare_arrays(real, fake, real_movie_ids=real_ids, extractor=self.ex,
                              workspace=self.ws, seed=self.seed, morphology_metrics=morph)

    def real_vs_real(self) -> Check:
        a, b = self.half, ~self.half
        r = self.compare(self.f.x[a], self.f.x[b], self.f.movie_ids[a])
        keys = ("fid", "kid_mean", "morph_fd")
        # fresh real movies must score no worse than a few times the floor (which is computed
        # on half as many frames, and movie-to-movie variation dominates with few movies)
        ok = all(r["metrics"][k] <= 4 * max(r["floor"][k], 1e-3) for k in keys)
        return Check("1 real-vs-real ≈ floor", ok, "value/floor " + ", ".join(
            f"{k} {r['metrics'][k]:.3g}/{r['floor'][k]:.3g}" for k in keys) + " (value <= 4 x floor)")

    def degradation(self, kind: str) -> Check:
        x = self.f.x
        levels = BLUR_SIGMAS_PX if kind == "blur" else NOISE_STDS
        fakes = [blur(x, s) if kind == "blur" else add_noise(x, s, self.seed) for s in levels]
        rs = [self.compare(x, fk, self.f.movie_ids)["metrics"] for fk in fakes]
        series = {k: [r[k] for r in rs] for k in ("fid", "kid_mean", "morph_fd")}
        ok = all(_monotone(v) for v in series.values())
        unit = "sigma_px" if kind == "blur" else "noise std"
        return Check(f"2 {kind}: FID, KID, morph_fd rise", ok, f"{unit} {_fmt(levels)}: " + "; ".join(
            f"{k} [{_fmt(v)}]" for k, v in series.items()))

    def _class_sets(self):
        """Real = even frames, generated = odd frames of every movie (class checks only).

        Movie-level halves are not used here: with a few movies per class, k-NN balls of real
        frames are set by their own movie's neighbouring frames, so recall/coverage between
        movie halves sit near 0 and cannot drop further; same-movie alternate frames isolate
        the effect of the missing class.
        """
        order = np.lexsort((np.arange(len(self.f.x)), self.f.movie_ids))
        a = np.zeros(len(self.f.x), bool)
        a[order[0::2]] = True
        present = sorted(str(c) for c in set(self.f.classes[a]) & set(self.f.classes[~a]))
        drop = "fragmented" if "fragmented" in present else present[0]
        return a, ~a, drop, present

    def drop_class(self) -> Check:
        if self.f.classes is None or len(np.unique(self.f.classes)) < 2:
            return Check("3 drop a class: recall, coverage down, NDB up", None, "no class labels")
        a, b, drop, _ = self._class_sets()
        rng = np.random.default_rng(self.seed)
        kept = np.flatnonzero(b & (self.f.classes != drop))
        full = rng.choice(np.flatnonzero(b), size=len(kept), replace=False)
        rf = self.compare(self.f.x[a], self.f.x[full], self.f.movie_ids[a], morph=False)["metrics"]
        rd = self.compare(self.f.x[a], self.f.x[kept], self.f.movie_ids[a], morph=False)["metrics"]
        ok = rd["recall"] < rf["recall"] and rd["coverage"] < rf["coverage"] and rd["ndb"] > rf["ndb"]
        return Check("3 drop a class: recall, coverage down, NDB up", ok,
                     f"without {drop!r} (N={len(kept)}) vs all classes: " + ", ".join(
                         f"{k} {rd[k]:.3g} vs {rf[k]:.3g}" for k in ("recall", "coverage", "ndb")))

    def repeat_k(self, k: int = 8, m: int = 160) -> Check:
        x = self.f.x
        # k frames spread over the set (different movies / times), each repeated m // k times
        pick = np.linspace(0, len(x) - 1, k).round().astype(int)
        fake_f = self.feats(x[np.repeat(pick, m // k)])
        real_f = self.feats(x)
        v = DistinctCount(real_f).count(fake_f)
        bday = memorization.birthday_support(fake_f, real_f, seed=self.seed)["support"]
        bday_real = memorization.birthday_support(real_f, real_f, seed=self.seed)["support"]
        # "small": of the order of k and far below the real set's (exact repeats are duplicates;
        # with a zero duplicate threshold, i.e. real data holding identical frames, float round-off
        # can hide a few of them, hence 3k rather than k)
        ok = abs(v - k) <= 0.25 * k and bday <= 3 * k and bday < bday_real / 10
        return Check(f"4 repeat k={k} frames: Vendi ≈ k, small birthday support", ok,
                     f"Vendi {v:.3g} (k ± 25%), birthday support {bday:.3g} (<= 3k) vs real {bday_real:.3g}")

    def memorization(self) -> Check:
        a = self.half
        held_idx = np.flatnonzero(~a)
        # held-out frames split by time parity: both halves are unseen, same movies, same mix
        ref_idx, probe_idx = held_idx[0::2], held_idx[1::2]
        train_f = self.feats(self.f.x[a])
        ref_f = self.feats(self.f.x[ref_idx])
        copies = add_noise(self.f.x[a], 0.003, self.seed)
        dc_copy = memorization.data_copying(train_f, ref_f, self.feats(copies))
        dc_held = memorization.data_copying(train_f, ref_f, self.feats(self.f.x[probe_idx]))
        ok = dc_copy["copying"] == 1.0 and dc_held["copying"] == 0.0
        return Check("5 memorization: noisy train copies flagged, held-out not", ok,
                     f"copies z={dc_copy['z']:.2f} p={dc_copy['p']:.2g}; held-out z={dc_held['z']:.2f} "
                     f"p={dc_held['p']:.2g}")

    def class_shift(self) -> Check:
        if self.f.classes is None or len(np.unique(self.f.classes)) < 2:
            return Check("6 shifted class proportions raise morph_fd", None, "no class labels")
        a, b, boost, _ = self._class_sets()
        rng = np.random.default_rng(self.seed)
        is_boost = self.f.classes == boost
        idx_boost, idx_other = np.flatnonzero(b & is_boost), np.flatnonzero(b & ~is_boost)
        s = int(min(len(idx_boost) / 0.8, len(idx_other) / 0.2))  # largest set with 80% `boost`
        shifted = np.concatenate([rng.choice(idx_boost, round(0.8 * s), replace=False),
                                  rng.choice(idx_other, s - round(0.8 * s), replace=False)])
        same_mix = rng.choice(np.flatnonzero(b), s, replace=False)
        real_m = morphology.morphology_table(self.f.x[a][:, 0])
        fd = [morph_distances(real_m, morphology.morphology_table(self.f.x[p][:, 0]))["morph_fd"]
              for p in (same_mix, shifted)]
        return Check("6 shifted class proportions raise morph_fd", fd[1] > fd[0],
                     f"morph_fd with 80% {boost!r} {fd[1]:.3g} vs real mix {fd[0]:.3g} (N={s})")

    def run(self) -> list[Check]:
        return [self.real_vs_real(), self.degradation("blur"), self.degradation("noise"),
                self.drop_class(), self.repeat_k(), self.memorization(), self.class_shift()]


def format_checks(name: str, n: int, checks: list[Check]) -> str:
    lines = [f"{name} (N={n})", f"{'check':<58}{'result':<7}detail"]
    for c in checks:
        res = "n/a" if c.passed is None else ("PASS" if c.passed else "FAIL")
        lines.append(f"{c.name:<58}{res:<7}{c.detail}")
    return "\n".join(lines)


def simulated_frames(workspace, *, quick: bool, seed: int = 0, size: int = 64) -> Frames:
    """Simulator movies of the four classes (made and imported once per workspace)."""
    from preprocessing.dataset import Dataset
    from preprocessing.pipeline import prepare
    from preprocessing.simulator.cli import simulate_dataset

    movies, frames = (8, 12) if quick else (16, 24)
    name = f"validation-sim-{movies}x{frames}-s{seed}"
    try:
        ds = Dataset.load(name, workspace)
    except Exception:  # not made yet (MitoError): simulate and import, exactly as the CLI does
        ds = simulate_dataset(workspace, name, movies=movies, frames=frames, size_yx=(2 * size, 2 * size),
                              seed=seed, overwrite=True)
    prep = prepare(ds, "normalize", size, workspace, progress=False)
    cls = {m["id"]: m["meta"]["class"] for m in ds.movies}
    ids = prep.movie_ids.astype(str)
    return Frames("simulator", prep.x, ids, np.array([cls[i] for i in ids]))


HELA_TIF = "hela-mitotracker-movie/Movie28_Actin_inhibitors_gray_TYX.tif"
HELA_ROIS = [(80, 100, 360, 320), (420, 100, 740, 320), (780, 100, 1080, 320)]  # panels A-C (README)


def hela_frames(data_dir, workspace, *, quick: bool, size: int = 64) -> Frames | None:
    """The real HeLa movie's three panels (three movies), or None when the data is absent."""
    from pathlib import Path

    from preprocessing.dataset import Dataset
    from preprocessing.ingest import import_dataset
    from preprocessing.pipeline import prepare

    src = Path(data_dir) / HELA_TIF
    if not src.is_file():
        return None
    name = "validation-hela"
    try:
        ds = Dataset.load(name, workspace)
    except Exception:  # first use in this workspace
        ds = import_dataset([src], name, workspace, rois=HELA_ROIS, progress=False)
    prep = prepare(ds, "normalize", size, workspace, progress=False)
    step = 4 if quick else 1
    return Frames("HeLa MitoTracker (3 panels)", prep.x[::step], prep.movie_ids[::step].astype(str))


def validate(workspace, *, quick: bool = False, data_dir=None, extractor: Extractor | None = None,
             seed: int = 0, size: int = 64) -> list[tuple[Frames, list[Check]]]:
    """Run every check on simulator frames, and on the HeLa frames when ``data_dir`` has them."""
    from analysis.extractors import get_extractor

    ex = extractor or get_extractor("mito-ssl")
    sets = [simulated_frames(workspace, quick=quick, seed=seed, size=size)]
    if data_dir is not None:
        hela = hela_frames(data_dir, workspace, quick=quick, size=size)
        if hela is not None:
            sets.append(hela)
    return [(fs, Validator(fs, ex, workspace=workspace, seed=seed).run()) for fs in sets]
