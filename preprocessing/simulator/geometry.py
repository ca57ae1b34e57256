"""Mitochondrial structures as graphs of tubule branches, and the morphology-class registry.

A :class:`Branch` is a polyline of centre-line points (µm, ``(y, x)``, spaced ``STEP_UM``) with a
base radius per point. Branches of one structure (same ``sid``) are joined where a branch end is
*attached* to a point of another branch: that point is a branch point (degree 3); an end that is
not attached is a free tip. Morphology classes build the structures of a movie's first frame;
they are registered with :func:`register_class` (names are unique).
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from bench.registry import Registry
from preprocessing.simulator.params import PEARL_SPACING_FACTOR, SimParams

STEP_UM = 0.05  # centre-line point spacing; finer than any default pixel (0.11 µm)


class Branch:
    """One tubule: ``pts`` (N, 2) µm ``(y, x)``, ``r0`` (N,) base radius µm, structure id ``sid``.

    ``attach[0]`` / ``attach[1]`` is ``None`` (free end) or ``(parent Branch, point index)`` for the
    start / end. ``pearl`` is ``None`` or a schedule dict (see ``dynamics.pearl_amplitude``).
    ``punctum`` marks round fragments, which have no tips.
    """

    def __init__(self, pts: np.ndarray, r0: np.ndarray, sid: int, punctum: bool = False):
        self.pts = np.asarray(pts, np.float64)  # (N, 2) µm
        self.r0 = np.asarray(r0, np.float64)  # (N,) µm
        self.sid = sid
        self.punctum = punctum
        self.attach: list = [None, None]
        self.pearl: dict | None = None

    @property
    def length_um(self) -> float:
        return float(np.hypot(*np.diff(self.pts, axis=0).T).sum()) if len(self.pts) > 1 else 0.0


def worm(rng, start, heading: float, length_um: float, persistence_um: float) -> np.ndarray:
    """A worm-like-chain centre line from ``start`` (µm): (N, 2) ``(y, x)`` points ``STEP_UM`` apart."""
    n = max(2, int(round(length_um / STEP_UM)) + 1)
    # 2-D worm-like chain: the tangent angle diffuses with variance step / persistence length.
    angles = heading + np.cumsum(rng.normal(0, math.sqrt(STEP_UM / persistence_um), n - 1))
    steps = STEP_UM * np.stack([np.sin(angles), np.cos(angles)], axis=1)
    return np.vstack([start, start + np.cumsum(steps, axis=0)])


def radius_profile(rng, n: int, p: SimParams, median_um: float | None = None) -> np.ndarray:
    """A branch's base radius: log-normal around the median, constant along the branch (µm)."""
    sigma = math.sqrt(math.log1p(p.tubule_radius_cv ** 2))
    return np.full(n, (median_um or p.tubule_radius_um) * math.exp(rng.normal(0, sigma)))


def grow_tree(rng, p: SimParams, fov_um, sid: int, *, length_scale: float = 1.0,
              branch_prob: float | None = None, max_depth: int = 3) -> list[Branch]:
    """One connected network: a main tubule with recursively spawned side branches."""
    start = rng.uniform([0.5, 0.5], [fov_um[0] - 0.5, fov_um[1] - 0.5])
    lo, hi = p.branch_length_um
    main = worm(rng, start, rng.uniform(0, 2 * math.pi), length_scale * rng.uniform(lo, hi), p.persistence_um)
    branches = [Branch(main, radius_profile(rng, len(main), p), sid)]
    queue = [(branches[0], 0)]
    prob = p.branch_prob if branch_prob is None else branch_prob
    while queue:
        parent, depth = queue.pop()
        if depth >= max_depth or len(parent.pts) < 20:
            continue
        for _ in range(2):
            if rng.random() >= prob:
                continue
            idx = int(rng.integers(len(parent.pts) // 5, 4 * len(parent.pts) // 5))
            tangent = parent.pts[min(idx + 1, len(parent.pts) - 1)] - parent.pts[idx - 1]
            heading = math.atan2(tangent[0], tangent[1]) + rng.choice([-1, 1]) * rng.uniform(0.7, 1.7)
            pts = worm(rng, parent.pts[idx], heading, 0.7 * length_scale * rng.uniform(lo, hi), p.persistence_um)
            child = Branch(pts, radius_profile(rng, len(pts), p, parent.r0[idx] * 0.9), sid)
            child.attach[0] = (parent, idx)
            branches.append(child)
            queue.append((child, depth + 1))
    return branches


def _fill(rng, p: SimParams, fov_um, density: float, make: Callable[[int], list[Branch]]) -> list[Branch]:
    """Add structures from ``make(sid)`` until the tubule length per area reaches ``density``."""
    target = density * fov_um[0] * fov_um[1]
    branches, total, sid = [], 0.0, 1
    while total < target:
        new = make(sid)
        branches += new
        total += sum(b.length_um for b in new)
        sid += 1
    return branches


MorphologyClass = Callable[[np.random.Generator, SimParams, tuple, float], list]
_CLASSES: Registry[MorphologyClass] = Registry("morphology class", "--classes", r"[a-z][a-z0-9_]*")


def register_class(name: str):
    """Register ``fn(rng, params, fov_um (Y, X), duration_s) -> list[Branch]`` as a morphology class."""
    return _CLASSES.decorator(name)


def get_class(name: str) -> MorphologyClass:
    return _CLASSES.get(name)


def list_classes() -> list[str]:
    return sorted(_CLASSES.names())


@register_class("tubular")
def tubular(rng, p: SimParams, fov_um, duration_s: float) -> list[Branch]:
    """Branched tubular networks of moderate density."""
    return _fill(rng, p, fov_um, p.density_um_per_um2, lambda sid: grow_tree(rng, p, fov_um, sid))


@register_class("hyperfused")
def hyperfused(rng, p: SimParams, fov_um, duration_s: float) -> list[Branch]:
    """Few, long, highly branched networks at a higher density."""
    return _fill(rng, p, fov_um, p.density_um_per_um2 * p.hyperfused_density_factor,
                 lambda sid: grow_tree(rng, p, fov_um, sid, length_scale=1.6,
                                           branch_prob=min(1.0, 2 * p.branch_prob), max_depth=4))


@register_class("fragmented")
def fragmented(rng, p: SimParams, fov_um, duration_s: float) -> list[Branch]:
    """Short unbranched fragments and round puncta."""
    def piece(sid):
        start = rng.uniform([0.3, 0.3], [fov_um[0] - 0.3, fov_um[1] - 0.3])
        if rng.random() < 0.4:  # a punctum: a swollen stub as long as it is wide
            pts = worm(rng, start, rng.uniform(0, 2 * math.pi), p.punctum_radius_um, p.persistence_um)
            return [Branch(pts, radius_profile(rng, len(pts), p, p.punctum_radius_um), sid, punctum=True)]
        pts = worm(rng, start, rng.uniform(0, 2 * math.pi), rng.uniform(*p.fragment_length_um), p.persistence_um)
        return [Branch(pts, radius_profile(rng, len(pts), p), sid)]
    return _fill(rng, p, fov_um, 0.6 * p.density_um_per_um2, piece)


@register_class("pearled")
def pearled(rng, p: SimParams, fov_um, duration_s: float) -> list[Branch]:
    """Tubular networks in which a share of long tubules beads into pearls and later recovers.

    Onset is uniform in the first 10-30 % of the movie; the fully beaded phase lasts
    ``pearl_hold_s``, capped so that recovery completes by 80 % of the movie.
    """
    branches = tubular(rng, p, fov_um, duration_s)
    for b in branches:
        spacing = PEARL_SPACING_FACTOR * float(np.median(b.r0))
        if b.length_um < 3 * spacing or rng.random() >= p.pearling_fraction:
            continue
        t0 = rng.uniform(0.1, 0.3) * duration_s
        hold = min(p.pearl_hold_s, max(0.0, 0.8 * duration_s - t0 - 2 * p.pearl_ramp_s))
        b.pearl = dict(t0=t0, t1=t0 + p.pearl_ramp_s + hold, ramp=p.pearl_ramp_s, amp=p.pearl_amplitude,
                       spacing_um=spacing, phase_um=rng.uniform(0, spacing), started=False, ended=False)
    return branches
