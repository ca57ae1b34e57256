"""``score``: a generator's samples against held-out movies, next to the floor at matched N,
every number with a 95% interval over movies, and the verdict.

Protocol (``PRODUCT.md``, "Rules of the science"):

* Reference = the held-out movies, for every metric. Memorisation = samples' distances to the
  nearest training frame against the held-out frames' distances to it.
* Floor = the same metric with TRAIN frames in the place of the samples: what a generator
  producing new movies of the population scores. Matched N: the reference side is the very
  same held-out frames; the sample side has the same number of frames M, train frames being
  subsampled (seeded) to the number of samples. With more samples than training frames, the
  samples are subsampled to the number of training frames instead (``n["matching"]`` says
  which). A train frame's "nearest training frame" is one of another movie (leave-own-movie-out).
* Intervals: ``N_BOOT`` bootstrap replicates (seeded). Replicate b resamples the held-out movies
  with replacement (the same draw for the model and the floor: paired), the samples' units (a
  generator's frames; a planted generator's movies) and, for the floor, the train movies (then
  M frames of them). The interval is the 2.5-97.5% range of the replicates shifted so that
  their median sits on the point value (``CI_METHOD``): resampling with replacement repeats
  frames, which biases FID-like metrics; the shift removes that bias to first order.
* Verdict per metric: ``within_floor`` when the point value is not beyond the floor's interval
  on the metric's worse side (``METRICS``; inside it for ``density``, worse both ways): a value
  better than every floor replicate is still "as good as new real movies" (with few train
  movies the floor itself is sometimes farther from the held-out movies than another set is).
  ``gap_z`` = (value - floor) / sd of the floor replicates. ``copying`` when the lower bound of
  ``copy_fraction`` is above the upper bound of its null's interval (``q`` with the spread real
  new movies show: with few movies a fresh movie alone can land far from ``q``); ``collapsed`` when the upper bound of
  ``vendi_ratio`` is below ``COLLAPSE_RATIO``.
  Fewer than ``MIN_HELDOUT_MOVIES`` held-out (or train) movies: no intervals, no verdict.
"""
from __future__ import annotations

import hashlib

import numpy as np
from scipy.spatial.distance import cdist
from sklearn.neighbors import NearestNeighbors
from threadpoolctl import threadpool_limits

from analysis.extractors import get_extractor
from analysis.extractors.base import Extractor
from analysis.extractors.cache import array_hash, cached_features, cached_object
from analysis.protocol.measures import (COPY_QUANTILE, METRICS, VERSION as MEASURES_VERSION, Side,
                                        measure, reference_stats, spectrum_rows, vendi_count)
from analysis.protocol.roles import MIN_HELDOUT_MOVIES, Role

N_BOOT = 200
VERSION = "5"  # bump when a change here alters results: part of every cache key below
COLLAPSE_RATIO = 0.5  # fewer than half the distinct frames of the held-out set at the same N
# what each metric can be (kid, an unbiased MMD², can be negative): intervals are clipped to it
BOUNDS = {**{k: (0.0, np.inf) for k in ("fid", "density", "vendi_ratio", "morph_fd", "spectrum_fd")},
          **{k: (0.0, 1.0) for k in ("precision", "coverage", "copy_fraction", "copy_auc")}}
CI_METHOD = "percentile bootstrap over movies ({n} replicates, seeded), shifted to the point value"
# Metrics shown as verdicts: those that pass the ladder (analysis/protocol/ladder.py); the
# others stay in ``metrics`` as numbers.
HEADLINE = ("fid", "kid", "precision", "coverage", "vendi_ratio", "copy_fraction", "morph_fd",
            "spectrum_fd")


def _role_hash(r: Role) -> str:
    """Content hash of a role: frames, units and strata (a cache key part)."""
    labels = "\x1f".join(r.units) + "\x1e" + ("" if r.strata is None else "\x1f".join(r.strata))
    return array_hash(r.x) + hashlib.sha256(labels.encode()).hexdigest()[:16]


def _scaler(ref: np.ndarray):
    """``f -> (f - mean) / sd`` per column of ``ref`` (N, F); constant columns keep scale 1."""
    mu, sd = ref.mean(0), ref.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    return lambda f: (f - mu) / sd


def _units(groups: np.ndarray, strata: np.ndarray | None) -> list[list[np.ndarray]]:
    """Frame indices of each unit, per stratum (one stratum when ``strata`` is None, or when a
    stratum has a single unit: resampling it would always give it back, i.e. no spread)."""
    if strata is None or min(len(np.unique(groups[strata == s])) for s in np.unique(strata)) < 2:
        strata = np.zeros(len(groups), int)
    return [[np.flatnonzero((groups == g) & in_s) for g in np.unique(groups[in_s])]
            for in_s in (strata == s for s in np.unique(strata))]


def _draw(units: list[list[np.ndarray]], rng: np.random.Generator) -> np.ndarray:
    """Frame indices of as many units as there are, drawn with replacement within each stratum."""
    return np.concatenate([u[i] for u in units for i in rng.integers(0, len(u), len(u))])


def _interval(point: float, reps: np.ndarray, bounds=(-np.inf, np.inf)) -> list[float]:
    """2.5-97.5% of ``reps`` shifted to ``point``, clipped to the metric's possible ``bounds``
    (the shift can carry a bound past a distance's 0 or a fraction's 1)."""
    lo, mid, hi = np.quantile(reps, [0.025, 0.5, 0.975])
    return [float(max(point - (mid - lo), bounds[0])), float(min(point + (hi - mid), bounds[1]))]


class DistinctCount:
    """The one "effectively distinct frames" count (:func:`vendi_count`) of the suite: features
    standardised by real frames ``real_feats`` (N, D), kernel bandwidth = the median distance of
    a real frame to its nearest other real frame. ``count(feats)`` of any set in that space:
    k distinct frames repeated give ≈ k (``tests/test_protocol.py``)."""

    def __init__(self, real_feats: np.ndarray):
        self.standardise = _scaler(real_feats)
        z = self.standardise(real_feats)
        d = cdist(z, z)
        # an exact repeat is not "another frame" (the HeLa file stores most time points twice):
        # with it, half the distances are 0 and so would the bandwidth be
        nearest = np.where(d > 0, d, np.inf).min(1)
        nearest = nearest[np.isfinite(nearest)]
        if not len(nearest):
            raise ValueError("every real frame has the same features: no scale to count distinct frames at")
        self.bandwidth = float(np.median(nearest))

    def count(self, feats: np.ndarray) -> float:
        return vendi_count(self.standardise(np.asarray(feats, np.float64)), self.bandwidth)


class Protocol:
    """Train and held-out real frames, embedded once; scores any number of sample sets.

    Parameters
    ----------
    train, heldout : Role
        Real frames ``(N, 1, H, W)`` float32 [0, 1] with their movie ids (``Role.units``) and,
        when the split was stratified, the labels (``Role.strata``).
    extractor : str or Extractor
        Feature space of every feature metric (named in the result).
    morphology : bool
        Also ``morph_fd`` (the fixed segmentation of :mod:`analysis.morphology`).
    """

    def __init__(self, train: Role, heldout: Role, *, extractor: str | Extractor = "mito-ssl",
                 workspace=None, n_boot: int = N_BOOT, seed: int = 0, morphology: bool = True,
                 q: float = COPY_QUANTILE):
        self.ex = get_extractor(extractor) if isinstance(extractor, str) else extractor
        self.ws, self.n_boot, self.seed, self.q, self.morph = workspace, n_boot, seed, q, morphology
        self.train, self.held = train, heldout
        # on-disk caches (morphology tables, floors, whole results) only in a given workspace
        from analysis.morphology import MORPHOLOGY_VERSION
        self._key = [VERSION, MEASURES_VERSION, self.ex.name, self.ex.weights_hash, self.ex.prep_key,
                     *map(_role_hash, (train, heldout)), str(n_boot), str(seed), repr(q),
                     MORPHOLOGY_VERSION if morphology else "no-morphology"]
        f_tr, f_h = self.features(train.x), self.features(heldout.x)
        raw_tr, raw_h = self._raw_tables(train.x), self._raw_tables(heldout.x)  # once per role
        # every standardisation is fitted once, on all real frames, so no role is favoured and no
        # bootstrap replicate rescales (a per-replicate scale explodes on near-constant columns)
        self.distinct = DistinctCount(np.concatenate([f_tr, f_h]))
        self._scale = {"feats": self.distinct.standardise}
        self._scale.update({k: _scaler(np.concatenate([raw_tr[k], raw_h[k]])) for k in raw_tr})
        self.bandwidth = self.distinct.bandwidth
        self._nn = NearestNeighbors(n_neighbors=1).fit(f_tr)
        self.tr = self._side(f_tr, train, raw_tr, self._own_movie_out(f_tr, train.units))
        self.h = self._side(f_h, heldout, raw_h)
        self.h_units = _units(heldout.units, heldout.strata)
        self._floors: dict[int, dict] = {}
        self._ref: dict[tuple, dict] = {}  # (m, b) -> reference_stats of replicate b's held-out draw
        self.reason = None
        if min(heldout.n_units, train.n_units) < MIN_HELDOUT_MOVIES:
            self.reason = (f"no verdict possible: {heldout.n_units} held-out and {train.n_units} train "
                           f"movies; an interval over movies needs at least {MIN_HELDOUT_MOVIES} of each")

    def features(self, x: np.ndarray) -> np.ndarray:
        """Extractor features ``(N, D)`` of frames ``(N, 1, H, W)`` (from the feature cache)."""
        return cached_features(self.ex, x, workspace=self.ws)

    def morphology(self, x: np.ndarray):
        """:func:`analysis.morphology.morphology_table` of frames ``(N, 1, H, W)``, cached in the
        workspace (callers showing morphology next to the protocol read the same tables)."""
        from analysis.morphology import MORPHOLOGY_VERSION, morphology_table
        return cached_object("morphology", [array_hash(x), MORPHOLOGY_VERSION],
                             lambda: morphology_table(x[:, 0]), workspace=self.ws,
                             use_cache=self.ws is not None)

    def _raw_tables(self, x) -> dict:
        out = {"spectrum": spectrum_rows(x)}
        if self.morph:
            out["morph"] = self.morphology(x).to_numpy(np.float64)  # (N, F)
        return out

    def _side(self, f: np.ndarray, role: Role, raw: dict, d_train: np.ndarray | None = None) -> Side:
        d = self._nn.kneighbors(f)[0][:, 0] if d_train is None else d_train
        tables = {k: self._scale[k](v) for k, v in raw.items()}
        return Side(f, self._scale["feats"](f), role.units, d, tables)

    @staticmethod
    def _own_movie_out(f: np.ndarray, units: np.ndarray) -> np.ndarray:
        """(N,) distance of each train frame to the nearest train frame of another movie."""
        d = cdist(f, f)
        d[units[:, None] == units[None, :]] = np.inf
        return d.min(1)

    def _run(self, samp: Side, units: list, m: int) -> dict:
        """Point values and ``n_boot`` replicates (metric -> (n_boot,)) of ``samp`` at M = ``m``.

        Replicate b's held-out draw depends only on (seed, b): the model's and the floor's
        replicates are paired."""
        rng = np.random.default_rng([self.seed, 7])
        pick = np.sort(rng.choice(len(samp.groups), m, replace=False))
        point = measure(self.h, samp.take(pick), min(m, len(self.h.groups)), self.bandwidth, self.q, rng)
        if self.reason:
            return {"value": point, "reps": None}
        reps = []
        with threadpool_limits(1):  # small eigendecompositions: 10-20x slower with threads fighting
            for b in range(self.n_boot):
                reps.append(self._replicate(samp, units, m, b))
        return {"value": point, "reps": {k: np.array([r[k] for r in reps]) for k in point}}

    def _replicate(self, samp: Side, units: list, m: int, b: int) -> dict:
        """Replicate ``b``: held-out movies, then sample units (M frames of them), resampled."""
        h_idx = _draw(self.h_units, np.random.default_rng([self.seed, b]))
        rng = np.random.default_rng([self.seed, b, 1])
        s_idx = _draw(units, rng)
        if len(s_idx) != m:
            s_idx = rng.choice(s_idx, m, replace=len(s_idx) < m)
        ref = self.h.take(h_idx)
        key = (m, b)  # the reference draw of replicate b: shared by the floor and every model
        if key not in self._ref:
            self._ref[key] = reference_stats(ref, min(m, len(h_idx)), self.bandwidth,
                                             np.random.default_rng([self.seed, b, 2]))
        return measure(ref, samp.take(s_idx), min(m, len(h_idx)), self.bandwidth, self.q, rng,
                       self._ref[key])

    def floor(self, m: int) -> dict:
        """Train-vs-held-out at ``m`` sample frames (cached per m, in memory and in the
        workspace: a later process scoring another generator against the same split reuses it)."""
        if m not in self._floors:
            def compute():
                f = self._run(self.tr, _units(self.train.units, self.train.strata), m)
                return {"value": f["value"], "reps": None if f["reps"] is None else
                        {k: v.tolist() for k, v in f["reps"].items()},
                        "ref": [[b, r["k"], r["radius"].tolist(), r["vendi"]]
                                for (mm, b), r in self._ref.items() if mm == m]}
            f = cached_object("protocol-floors", self._key + [str(m)], compute, workspace=self.ws,
                              use_cache=self.ws is not None)
            self._floors[m] = {"value": f["value"], "reps": None if f["reps"] is None else
                               {k: np.asarray(v) for k, v in f["reps"].items()}}
            self._ref.update({(m, b): {"k": k, "radius": np.asarray(r), "vendi": v}
                              for b, k, r, v in f["ref"]})
        return self._floors[m]

    def score(self, samples: Role) -> dict:
        """Score ``samples``; keys: ``metrics``, ``floor``, ``ci``, ``floor_ci``, ``gap_ci``
        (``[low, high]``), ``floor_sd``, ``gap_z``, ``objective``, ``n``, ``extractor``,
        ``weights_hash``, ``n_boot``, ``seed``, ``ci_method``, ``copy_quantile``, ``headline``
        and ``verdict`` (``possible``, ``reason``, ``within_floor.<m>``, ``copying``,
        ``collapsed``)."""
        m = min(len(samples.x), len(self.train.x))
        return cached_object("protocol-results", self._key + [_role_hash(samples)],
                             lambda: self._score(samples, m), workspace=self.ws,
                             use_cache=self.ws is not None)

    def _score(self, samples: Role, m: int) -> dict:
        given = len(samples.x)
        if given > m:  # matched N: only M samples are ever compared, so only M are embedded
            samples = samples.subset(np.sort(np.random.default_rng([self.seed, 7]).choice(given, m, replace=False)))
        samp = self._side(self.features(samples.x), samples, self._raw_tables(samples.x))
        floor = self.floor(m)  # first: its reference draws are the model's too
        model = self._run(samp, _units(samples.units, samples.strata), m)
        res = {"metrics": model["value"], "extractor": self.ex.name,
               "weights_hash": self.ex.weights_hash, "n_boot": self.n_boot, "seed": self.seed,
               "ci_method": CI_METHOD.format(n=self.n_boot), "copy_quantile": self.q,
               "headline": [k for k in HEADLINE if k in model["value"]],
               "n": {"train": {"frames": len(self.train.x), "movies": self.train.n_units},
                     "heldout": {"frames": len(self.held.x), "movies": self.held.n_units},
                     "samples": {"frames": m, "given": given, "units": samples.n_units},
                     "floor_samples": {"frames": m, "movies": self.train.n_units},
                     "matching": "train frames subsampled to the number of samples"
                     if m == given else "samples subsampled to the number of train frames"}}
        res.update(_compare(model, floor, self.q, self.reason, (m, len(self.held.x))))
        return res


def _within(v: float, f: float, ci: list, fci: list, worse: int, has_null: bool) -> bool:
    """Not beyond the floor interval on the metric's worse side (inside it when both sides are
    worse); for a metric with a known null: the model's interval reaches the null's interval."""
    if has_null:
        return bool(ci[0] <= fci[1]) if worse > 0 else bool(ci[1] >= fci[0])
    if worse > 0:
        return bool(v <= fci[1])
    if worse < 0:
        return bool(v >= fci[0])
    return bool(fci[0] <= v <= fci[1])


def _sd_floor(floor: dict, q: float, m: int, n_ref: int) -> dict:
    """The least SD each metric's floor is given, ``m`` samples against ``n_ref`` held-out frames.

    With two train movies, or a fraction at its bound (precision 1.0), every bootstrap replicate
    can give the same value: an SD of 0 and an infinite gap. Below these the SD is not believed:
    the null's sampling SD for the memorisation statistics (binomial for ``copy_fraction``,
    Mann-Whitney for ``copy_auc``), the binomial resolution of a fraction over ``m`` frames for
    the other fractions, 1% of the floor's value for the rest."""
    p = lambda x: min(max(x, 1 / m), 1 - 1 / m)  # noqa: E731  (a fraction away from its bounds)
    out = {k: 0.01 * abs(v) + 1e-9 for k, v in floor.items()}
    out.update({k: float(np.sqrt(p(floor[k]) * (1 - p(floor[k])) / m))
                for k in ("precision", "coverage") if k in floor})
    out.update({"copy_fraction": float(np.sqrt(q * (1 - q) / m)),
                "copy_auc": float(np.sqrt((m + n_ref + 1) / (12 * m * n_ref)))})
    return out


def _compare(model: dict, floor: dict, q: float, reason: str | None, n: tuple[int, int]) -> dict:
    """Floors, intervals, gaps and the verdict of a model's point values and replicates.

    Memorisation metrics have a known null instead of a train-based floor (train frames' own
    nearest-train distances would need leaving their movie out, which with few movies per
    label biases them): a fresh movie falls below the held-out q-quantile with probability q,
    and the AUC of a fresh movie is 0.5. Their floor is that null, with the spread of the train
    frames' statistic (leave-own-movie-out) centred on it."""
    v, mr = model["value"], model["reps"]
    null = {"copy_fraction": q, "copy_auc": 0.5}
    f = {k: null.get(k, floor["value"][k]) for k in v}
    if reason:
        return {"floor": f, "ci": None, "floor_ci": None, "gap_ci": None, "floor_sd": None,
                "gap_z": None, "objective": None, "objective_ci": None,
                "verdict": {"possible": False, "reason": reason, "within_floor": {},
                            "copying": None, "collapsed": None}}
    fr = {k: null[k] + floor["reps"][k] - np.median(floor["reps"][k]) if k in null else floor["reps"][k]
          for k in v}
    ci = {k: _interval(v[k], mr[k], BOUNDS.get(k, (-np.inf, np.inf))) for k in v}
    fci = {k: _interval(f[k], fr[k], BOUNDS.get(k, (-np.inf, np.inf))) for k in v}
    gap_ci = {k: _interval(v[k] - f[k], mr[k] - fr[k]) for k in v}  # paired by the held-out draw
    least = _sd_floor(f, q, *n)
    sd = {k: max(float(fr[k].std(ddof=1)), least[k]) for k in v}
    gap = {k: (v[k] - f[k]) / sd[k] for k in v}
    head = [k for k in HEADLINE if k in v]
    # a gap counts on its worse side only (both sides for density); the objective's interval is
    # the same mean over the model's replicates (the floor fixed)
    worse = lambda k, g: np.abs(g) if METRICS[k] == 0 else np.maximum(0.0, METRICS[k] * g)  # noqa: E731
    objective = float(np.mean([worse(k, gap[k]) for k in head]))
    rep_objective = np.mean([worse(k, (mr[k] - f[k]) / sd[k]) for k in head], axis=0)
    within = {k: _within(v[k], f[k], ci[k], fci[k], METRICS[k], k in null) for k in v}
    return {"floor": f, "ci": ci, "floor_ci": fci, "gap_ci": gap_ci, "floor_sd": sd, "gap_z": gap,
            "objective": objective, "objective_ci": _interval(objective, rep_objective, (0.0, np.inf)),
            "verdict": {"possible": True, "reason": None, "within_floor": within,
                        "copying": bool(ci["copy_fraction"][0] > fci["copy_fraction"][1]),
                        "collapsed": bool(ci["vendi_ratio"][1] < COLLAPSE_RATIO)}}


def score(train: Role, heldout: Role, samples: Role, **kwargs) -> dict:
    """One-shot :meth:`Protocol.score` (keyword arguments go to :class:`Protocol`)."""
    return Protocol(train, heldout, **kwargs).score(samples)
