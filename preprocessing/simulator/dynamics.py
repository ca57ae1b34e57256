"""Dynamics of one movie's structures: motion and bending, fission, fusion, pearling.

* Motion: every point moves with a smooth random velocity field (a few Fourier modes whose
  amplitudes follow Ornstein-Uhlenbeck processes, rms ``network_speed_um_s``), which bends
  tubules and keeps junctions joined; each structure also random-walks as a whole (rms
  ``fragment_speed_um_s``, scaled down for large networks).
* Fission: Poisson events at ``fission_rate_per_um_s``; a branch is cut mid-way (0.3 µm gap) and
  the pieces that lose their connection become new structures drifting apart.
* Fusion: a free tip within ``fusion_distance_um`` of another structure joins it (probability
  ``fusion_prob_per_s`` per s); the tip bends onto the target point, which becomes a branch point.
  Pieces of one fission do not re-fuse with each other for ``REFRACTORY_S``.
* Pearling: a share ``a(t)`` of a scheduled tubule's volume gathers into spheres (pearls) centred
  every ``spacing = 2 pi sqrt(2) r0`` along it, each holding one spacing of tubule volume
  (radius ``R = (3/4 r0^2 spacing)^(1/3)``, 1.88 r0); the cross-section at distance ``d`` from the
  nearest centre is ``r(s)^2 = (1 - a) r0^2 + a max(R^2 - d^2, 0)`` (volume kept, thin necks
  between pearls). ``a(t)`` ramps up, holds and ramps back to 0 (recovery).

Events are recorded as dicts ``{t, time_s, type, xy_um, structure}``; the renderer adds pixels.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

from preprocessing.simulator.geometry import STEP_UM, Branch
from preprocessing.simulator.params import SimParams

N_MODES = 4
GAP_UM = 0.3
# Pieces just cut apart lie closer than the fusion distance; without a pause they would re-fuse
# at once (observed fission products separate before any refusion).
REFRACTORY_S = 10.0


def pearl_amplitude(pearl: dict | None, time_s: float) -> float:
    """Radius modulation ``a(t)`` of a pearling schedule (0 before onset and after recovery)."""
    if pearl is None:
        return 0.0
    rise = (time_s - pearl["t0"]) / pearl["ramp"]
    fall = (pearl["t1"] + pearl["ramp"] - time_s) / pearl["ramp"]
    return pearl["amp"] * float(np.clip(min(rise, fall, 1.0), 0.0, 1.0))


def modulated_radius(b: Branch, s_um: np.ndarray, r0: np.ndarray, time_s: float) -> np.ndarray:
    """Radius (µm) at arc lengths ``s_um`` of branch ``b`` at ``time_s`` (base radius ``r0``)."""
    a = pearl_amplitude(b.pearl, time_s)
    if a == 0.0:
        return r0
    spacing = b.pearl["spacing_um"]
    d = (s_um - b.pearl["phase_um"] + spacing / 2) % spacing - spacing / 2  # to the nearest pearl centre
    pearl_r2 = np.cbrt(0.75 * r0 ** 2 * spacing) ** 2  # sphere holding one spacing of tubule volume
    return np.sqrt((1 - a) * r0 ** 2 + a * np.maximum(pearl_r2 - d ** 2, 0.0))


class Movie:
    """The evolving structures of one movie; ``step()`` advances one frame interval."""

    def __init__(self, branches: list[Branch], p: SimParams, rng: np.random.Generator, fov_um):
        self.branches, self.p, self.rng = branches, p, rng
        self.t, self.events = 0, []
        self.next_sid = max((b.sid for b in branches), default=0) + 1
        self.born = {b.sid: {"t": 0, "parent": None} for b in branches}
        self.k = rng.normal(0, 2 * math.pi / 8.0, (N_MODES, 2))  # wave vectors, ~8 µm wavelength
        self.phi = rng.uniform(0, 2 * math.pi, N_MODES)
        self.amp = rng.normal(0, p.network_speed_um_s / math.sqrt(N_MODES / 2), (N_MODES, 2))
        self.vel = {sid: self._new_velocity(sid) for sid in self.born}

    @property
    def time_s(self) -> float:
        return self.t * self.p.frame_interval_s

    def _new_velocity(self, sid: int) -> np.ndarray:
        return self.rng.normal(0, self.p.fragment_speed_um_s / math.sqrt(2), 2) * self._mobility(sid)

    def _mobility(self, sid: int) -> float:
        # Big networks are tethered to the cytoskeleton: they move less as a whole than fragments.
        length = sum(b.length_um for b in self.branches if b.sid == sid)
        return 1.0 / (1.0 + length / 3.0)

    def _ou(self, x: np.ndarray, rms: float, tau_s: float) -> np.ndarray:
        """One Ornstein-Uhlenbeck step of ``x`` with stationary rms ``rms`` per component."""
        decay = math.exp(-self.p.frame_interval_s / tau_s)
        return x * decay + self.rng.normal(0, rms * math.sqrt(1 - decay ** 2), x.shape)

    def step(self) -> None:
        """Advance one frame: move, then fission, fusion and pearling bookkeeping."""
        p, dt = self.p, self.p.frame_interval_s
        self.t += 1
        self.amp = self._ou(self.amp, p.network_speed_um_s / math.sqrt(N_MODES / 2), 20.0)
        for sid in self.vel:
            self.vel[sid] = self._ou(self.vel[sid], p.fragment_speed_um_s / math.sqrt(2) * self._mobility(sid), 10.0)
        for b in self.branches:
            field = np.sin(b.pts @ self.k.T + self.phi) @ self.amp  # (N, 2) µm/s
            b.pts += (field + self.vel.get(b.sid, 0.0)) * dt
        self._snap()
        n_fission = self.rng.poisson(p.fission_rate_per_um_s * dt * sum(b.length_um for b in self.branches))
        for _ in range(n_fission):
            self._fission()
        self._fusion()
        self._pearl_events()

    def _snap(self) -> None:
        """Put attached ends exactly on their parent points (motion may open tiny gaps)."""
        for b in self.branches:
            for end, ref in enumerate(b.attach):
                if ref is not None:
                    b.pts[-end] = ref[0].pts[min(ref[1], len(ref[0].pts) - 1)]

    def _event(self, kind: str, xy_um, sid: int, **extra) -> None:
        self.events.append(dict(t=self.t, time_s=round(self.time_s, 6), type=kind,
                                xy_um=[float(xy_um[1]), float(xy_um[0])], structure=int(sid), **extra))

    def _fission(self) -> None:
        gap = int(math.ceil(GAP_UM / 2 / STEP_UM))
        cand = [b for b in self.branches if b.pearl is None and len(b.pts) > 4 * gap + 20]
        if not cand:
            return
        lengths = np.array([len(b.pts) for b in cand], float)
        b = cand[self.rng.choice(len(cand), p=lengths / lengths.sum())]
        i = int(self.rng.integers(len(b.pts) // 4, 3 * len(b.pts) // 4))
        tail = Branch(b.pts[i + gap:].copy(), b.r0[i + gap:].copy(), b.sid)
        tail.attach[1], b.attach[1] = b.attach[1], None
        cut_xy = b.pts[i].copy()
        for other in self.branches:  # re-point branches hanging on the removed/moved part
            for end, ref in enumerate(other.attach):
                if ref is not None and ref[0] is b and ref[1] >= i - gap:
                    other.attach[end] = (tail, max(ref[1] - i - gap, 0)) if ref[1] >= i else (b, i - gap - 1)
        b.pts, b.r0 = b.pts[:i - gap], b.r0[:i - gap]
        self.branches.append(tail)
        old = b.sid
        for comp in self._components(old)[1:]:  # the largest piece keeps the old id
            sid, self.next_sid = self.next_sid, self.next_sid + 1
            for m in comp:
                m.sid = sid
            self.born[sid] = {"t": self.t, "parent": old}
            away = np.mean([m.pts.mean(0) for m in comp], axis=0) - cut_xy
            self.vel[sid] = self.vel[old] + 0.05 * away / (np.linalg.norm(away) + 1e-9)
        self._event("fission", cut_xy, old)

    def _components(self, sid: int) -> list[list[Branch]]:
        """Connected groups of the branches with id ``sid``, largest (by points) first."""
        members = [b for b in self.branches if b.sid == sid]
        root = {id(b): id(b) for b in members}

        def find(x):
            while root[x] != x:
                x = root[x]
            return x
        for b in members:
            for ref in b.attach:
                if ref is not None and id(ref[0]) in root:
                    root[find(id(b))] = find(id(ref[0]))
        groups: dict[int, list[Branch]] = {}
        for b in members:
            groups.setdefault(find(id(b)), []).append(b)
        return sorted(groups.values(), key=lambda g: -sum(len(m.pts) for m in g))

    def _fusion(self) -> None:
        p = self.p
        if p.fusion_distance_um == 0 or len({b.sid for b in self.branches}) < 2:
            return
        pts = np.concatenate([b.pts for b in self.branches])
        owner = np.concatenate([np.full(len(b.pts), i) for i, b in enumerate(self.branches)])
        index = np.concatenate([np.arange(len(b.pts)) for b in self.branches])
        tree = cKDTree(pts)
        prob = 1 - (1 - p.fusion_prob_per_s) ** p.frame_interval_s
        busy = set()  # one fusion per structure per frame, so each event's ids hold in its frame
        for b in list(self.branches):
            for end in (0, 1):
                if b.attach[end] is not None or b.punctum or b.sid in busy or self.rng.random() >= prob:
                    continue
                near = [j for j in tree.query_ball_point(b.pts[-end], p.fusion_distance_um)
                        if self.branches[owner[j]].sid not in busy | {b.sid}
                        and not self._just_split(b.sid, self.branches[owner[j]].sid)]
                if not near:
                    continue
                j = near[int(np.argmin(np.hypot(*(pts[near] - b.pts[-end]).T)))]
                target = self.branches[owner[j]]
                busy |= {b.sid, target.sid}
                self._join(b, end, target, int(index[j]))

    def _just_split(self, a: int, b: int) -> bool:
        """True if one of two structures split from the other less than ``REFRACTORY_S`` ago."""
        for child, parent in ((a, b), (b, a)):
            info = self.born.get(child, {})
            if info.get("parent") == parent and (self.t - info["t"]) * self.p.frame_interval_s < REFRACTORY_S:
                return True
        return False

    def _join(self, b: Branch, end: int, target: Branch, idx: int) -> None:
        """Attach end ``end`` of ``b`` to point ``idx`` of ``target`` and merge their structures."""
        n = min(len(b.pts), 10)
        ramp = np.linspace(0, 1, n)[:, None]  # bend the last n points so the tip lands smoothly
        delta = target.pts[idx] - b.pts[-end]
        if end == 1:
            b.pts[-n:] += ramp * delta
        else:
            b.pts[:n] += ramp[::-1] * delta
        b.attach[end] = (target, idx)
        if idx < 3 or idx > len(target.pts) - 4:  # end-to-end: both ends are joined, no junction
            near_end = 0 if idx < 3 else 1
            if target.attach[near_end] is None:
                target.attach[near_end] = (b, 0 if end == 0 else len(b.pts) - 1)
        old, new = b.sid, target.sid
        for m in self.branches:
            if m.sid == old:
                m.sid = new
        self.vel.pop(old, None)
        self._event("fusion", target.pts[idx], new, absorbed=int(old))

    def _pearl_events(self) -> None:
        now = self.time_s
        for b in self.branches:
            pearl = b.pearl
            if pearl is None:
                continue
            if not pearl["started"] and now >= pearl["t0"]:
                pearl["started"] = True
                self._event("pearling_start", b.pts[len(b.pts) // 2], b.sid,
                            spacing_um=round(pearl["spacing_um"], 6))
            if not pearl["ended"] and now >= pearl["t1"] + pearl["ramp"]:
                pearl["ended"] = True
                self._event("pearling_end", b.pts[len(b.pts) // 2], b.sid,
                            spacing_um=round(pearl["spacing_um"], 6))
