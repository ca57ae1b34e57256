"""Rendering: structures → noise-free image and per-frame ground truth; camera model.

Optics. A tubule of radius ``r`` filled with dye projects a line profile of variance ``r² / 4``;
convolved with the Gaussian PSF (sigma ``s``) it is close to a Gaussian of
``sigma_eff² = s² + r² / 4``. Each centre-line sample (spacing <= 0.5 px) is splatted as that
Gaussian with a weight proportional to ``r²`` (dye volume per length), scaled so that a median
tubule peaks at ``peak_photons``. Positions are continuous, so drift is rendered exactly.

Ground truth. ``mask`` = pixels within the half-maximum radius ``1.1774 sigma_eff + 0.5 px`` of a
centre line (``structure_labels`` = id of the nearest centre line there); ``skeleton`` = the
rasterised centre lines, thinned, within the mask; ``branch_points`` = pixels of branch ends
attached to the interior of another branch; ``tips`` = pixels of free branch ends (puncta have
none); ``beads`` = half-maximum disks around pearl centres, within the mask, while the
modulation is at least half its peak.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
from skimage.morphology import skeletonize

from preprocessing.simulator.dynamics import modulated_radius, pearl_amplitude
from preprocessing.simulator.geometry import Branch
from preprocessing.simulator.params import SimParams

HALF_MAX = math.sqrt(2 * math.log(2))  # half-maximum radius of a Gaussian, in sigmas


def _samples(b: Branch, time_s: float, step_um: float):
    """Centre-line samples of ``b``: arc length (M,) µm, positions (M, 2) µm, radius (M,) µm."""
    seg = np.hypot(*np.diff(b.pts, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(2, int(math.ceil(s[-1] / step_um)) + 1)
    s_new = np.linspace(0, s[-1], n)
    pts = np.stack([np.interp(s_new, s, b.pts[:, 0]), np.interp(s_new, s, b.pts[:, 1])], axis=1)
    r0 = np.interp(s_new, s, b.r0)
    return s_new, pts, modulated_radius(b, s_new, r0, time_s)


class Renderer:
    """Renders frames of shape ``shape_yx`` for parameters ``p``."""

    def __init__(self, p: SimParams, shape_yx):
        self.p, self.shape = p, tuple(shape_yx)
        self.step_um = min(0.5 * p.pixel_size_um, 0.05)
        sig0 = math.hypot(p.px(p.psf_sigma_um), p.px(p.tubule_radius_um) / 2)
        # Weight per (px of length x px² of radius) so that a median tubule peaks at peak_photons.
        self.gain = p.peak_photons * math.sqrt(2 * math.pi) * sig0 / p.px(p.tubule_radius_um) ** 2

    def sigma_eff_px(self, r_um: np.ndarray) -> np.ndarray:
        return np.hypot(self.p.px(self.p.psf_sigma_um), self.p.px(r_um) / 2)

    def frame(self, branches: list[Branch], time_s: float, drift_px) -> dict[str, np.ndarray]:
        """Noise-free image (photons, before bleaching) and ground truth of one frame (all (Y, X))."""
        p, (h, w) = self.p, self.shape
        parts = [_samples(b, time_s, self.step_um) for b in branches]
        if not parts:
            return self._empty()
        pos = np.concatenate([q[1] for q in parts]) / p.pixel_size_um + np.asarray(drift_px)  # (M, 2) px
        r_px = p.px(np.concatenate([q[2] for q in parts]))
        ds_px = np.concatenate([np.full(len(q[0]), p.px(q[0][1] - q[0][0])) for q in parts])
        sid = np.concatenate([np.full(len(q[0]), b.sid) for q, b in zip(parts, branches)])
        sig = np.hypot(p.px(p.psf_sigma_um), r_px / 2)
        k = int(math.ceil(3 * sig.max()))
        off = np.arange(-k, k + 1)
        base = np.rint(pos).astype(np.int64)
        iy = base[:, 0, None, None] + off[None, :, None]  # (M, K, 1)
        ix = base[:, 1, None, None] + off[None, None, :]  # (M, 1, K)
        d2 = (iy - pos[:, 0, None, None]) ** 2 + (ix - pos[:, 1, None, None]) ** 2  # (M, K, K)
        iy, ix = np.broadcast_to(iy, d2.shape), np.broadcast_to(ix, d2.shape)
        inside = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
        flat = (iy * w + ix)[inside]
        s2 = (sig ** 2)[:, None, None]
        val = (self.gain * r_px ** 2 * ds_px)[:, None, None] / (2 * math.pi * s2) * np.exp(-d2 / (2 * s2))
        clean = np.bincount(flat, val[inside], minlength=h * w).reshape(h, w).astype(np.float32)
        # Labels: the nearest centre line within its half-maximum radius.
        radius = (HALF_MAX * sig + 0.5)[:, None, None]
        near = inside & (d2 <= radius ** 2)
        pix = (iy * w + ix)[near]
        order = np.lexsort((d2[near], pix))  # by pixel, then distance: the first of a run is nearest
        pix = pix[order]
        first = np.concatenate([[True], pix[1:] != pix[:-1]])
        labels = np.zeros(h * w, np.int16)
        labels[pix[first]] = np.broadcast_to(sid[:, None, None], d2.shape)[near][order][first]
        labels = labels.reshape(h, w)
        return dict(clean=clean, mask=labels > 0, structure_labels=labels,
                    skeleton=self._skeleton(pos, labels > 0),
                    **self._ends(branches, drift_px), beads=self._beads(branches, time_s, drift_px) & (labels > 0))

    def _empty(self) -> dict[str, np.ndarray]:
        z = np.zeros(self.shape, bool)
        return dict(clean=np.zeros(self.shape, np.float32), mask=z, structure_labels=z.astype(np.int16),
                    skeleton=z, branch_points=z, tips=z, beads=z)

    def _raster(self, pts_px: np.ndarray) -> np.ndarray:
        """Bool image with the pixels of ``pts_px`` (N, 2) ``(y, x)`` that fall in the frame."""
        out = np.zeros(self.shape, bool)
        q = np.rint(np.asarray(pts_px).reshape(-1, 2)).astype(np.int64)
        ok = (q[:, 0] >= 0) & (q[:, 0] < self.shape[0]) & (q[:, 1] >= 0) & (q[:, 1] < self.shape[1])
        out[q[ok, 0], q[ok, 1]] = True
        return out

    def _skeleton(self, pos_px: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return skeletonize(self._raster(pos_px)) & mask

    def _ends(self, branches: list[Branch], drift_px) -> dict[str, np.ndarray]:
        tips, junctions = [], []
        for b in branches:
            for end, ref in enumerate(b.attach):
                xy = b.pts[-end] / self.p.pixel_size_um + drift_px
                if ref is None:
                    if not b.punctum:
                        tips.append(xy)
                elif 2 <= ref[1] <= len(ref[0].pts) - 3:  # joined to an interior point: degree 3
                    junctions.append(xy)
        return dict(tips=self._raster(np.array(tips)), branch_points=self._raster(np.array(junctions)))

    def _beads(self, branches: list[Branch], time_s: float, drift_px) -> np.ndarray:
        out = np.zeros(self.shape, np.uint8)
        for b in branches:
            a = pearl_amplitude(b.pearl, time_s)
            if b.pearl is None or a < 0.5 * b.pearl["amp"]:
                continue
            s, pts, r = _samples(b, time_s, self.step_um)
            centres = np.arange(b.pearl["phase_um"], s[-1], b.pearl["spacing_um"])
            for c in centres:
                i = int(np.argmin(np.abs(s - c)))
                y, x = pts[i] / self.p.pixel_size_um + drift_px
                rad = HALF_MAX * float(self.sigma_eff_px(r[i])) + 0.5
                cv2.circle(out, (int(round(x * 16)), int(round(y * 16))), int(round(rad * 16)), 1, -1,
                           cv2.LINE_8, 4)  # shift=4: sub-pixel centre and radius
        return out.astype(bool)


def camera(clean: np.ndarray, p: SimParams, rng: np.random.Generator) -> np.ndarray:
    """Noise-free in-focus photons (Y, X) → camera counts uint16 (Y, X).

    Adds out-of-focus haze (the signal blurred by ``haze_sigma_um``, times ``haze_fraction``) and a
    uniform background, then Poisson shot noise, gain, Gaussian read noise and offset.
    """
    haze = cv2.GaussianBlur(clean, (0, 0), p.px(p.haze_sigma_um), borderType=cv2.BORDER_REFLECT)
    expected = clean + p.haze_fraction * haze + p.background_photons
    electrons = rng.poisson(expected).astype(np.float64)
    electrons += rng.normal(0, p.read_noise_e, clean.shape)
    return np.clip(np.rint(p.offset_adu + p.gain_adu_per_e * electrons), 0, 65535).astype(np.uint16)
