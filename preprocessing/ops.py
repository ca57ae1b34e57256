"""Preprocessing ops (OpenCV), composable by name.

Contract of every op: it takes one movie's frames ``(T, Y, X)`` float32 in [0, 1] plus keyword
parameters (all with defaults) and returns frames of the same kind: float32 in [0, 1], axes TYX.
It is deterministic and does not modify its input. Geometry ops (``geometry=True``) are last in a
pipeline; they also take ``size`` (the training size, px) and return ``(out (N, size, size),
src (N,))`` where ``src[i]`` is the input frame each output sample came from.

A new op is one function plus its ``@register_op`` line; bump ``version`` whenever its output
changes, so cached data sets built with the old code are not reused.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

import cv2
import numpy as np

from bench.errors import MitoError
from bench.registry import Registry
from preprocessing.params import check_params


@dataclass(frozen=True)
class Op:
    name: str
    fn: Callable = field(repr=False)
    version: int
    defaults: dict
    geometry: bool
    # local ops: px of context one output pixel reads, from the resolved params (None: non-local);
    # geometry ops: ``region(shape_yx, size, params) -> (y0, y1, x0, x1)`` they read (None: all).
    # ``preprocessing.pushdown`` uses both to skip pixels the last op would throw away.
    halo: Callable[[dict], int] | None = None
    region: Callable | None = None
    # whether the output is still an intensity image (``intensity(params) -> bool``): an edge map
    # or a mask is not, and is compared only with real frames through the same op, never ranked
    # against intensity pipelines (``analysis.protocol.ranking``)
    intensity: Callable[[dict], bool] = lambda params: True

    def keeps_intensity(self, params: dict) -> bool:
        return bool(self.intensity(self.resolve(params)))

    def resolve(self, params: dict) -> dict:
        """Defaults filled in, values coerced to the defaults' types; unknown keys refused."""
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise MitoError(f"op {self.name}", f"unknown parameter(s) {', '.join(sorted(unknown))} "
                            f"(known: {', '.join(self.defaults) or 'none'})")
        out = dict(self.defaults)
        for k, v in params.items():
            try:
                out[k] = type(self.defaults[k])(v)
            except (TypeError, ValueError):
                raise MitoError(f"op {self.name}", f"{k}={v!r} is not a {type(self.defaults[k]).__name__}")
        check_params(self.name, out)  # declared ranges (preprocessing.params): refused at parse time
        return out

    def __call__(self, frames: np.ndarray, size: int | None = None, **params):
        """Run the op; geometry ops need ``size`` and return ``(out, src)``."""
        if self.geometry:
            return self.fn(frames, size=size, **self.resolve(params))
        return self.fn(frames, **self.resolve(params))


_OPS: Registry[Op] = Registry("op", "pipeline", r"[a-z][a-z0-9_]*")


def register_op(name: str, *, version: int = 1, geometry: bool = False, halo=None, region=None,
                intensity: bool | Callable[[dict], bool] = True):
    """Register ``fn(frames, *, param=default, ...)`` as op ``name`` (refuses duplicates).

    ``halo(params) -> px`` declares a local op: each output pixel depends only on input pixels
    within that distance (border extrapolation aside). ``region`` (geometry ops) names the part of
    the frame the op reads. Both must be exact: ``tests/test_pushdown.py`` checks pipelines give
    the same array with and without the push-down. ``intensity`` (a bool, or ``params -> bool``)
    declares whether the output is still an intensity image."""
    def deco(fn):
        sig = inspect.signature(fn).parameters.values()
        defaults = {p.name: p.default for p in sig
                    if p.kind is p.KEYWORD_ONLY and p.name != "size"}
        keeps = intensity if callable(intensity) else (lambda params, v=bool(intensity): v)
        _OPS.add(name, Op(name, fn, version, defaults, geometry, halo, region, keeps))
        return fn
    return deco


def get_op(name: str) -> Op:
    return _OPS.get(name)


def list_ops() -> list[str]:
    return sorted(_OPS.names())


def per_frame(frames: np.ndarray, fn) -> np.ndarray:
    """Apply ``fn((Y, X) float32) -> (Y, X)`` to every frame; clip to [0, 1]."""
    out = np.empty(frames.shape, np.float32)
    for t, frame in enumerate(frames):
        out[t] = fn(np.asarray(frame, np.float32))
    return np.clip(out, 0.0, 1.0, out=out)


def to_u8(frame: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(frame * 255.0), 0, 255).astype(np.uint8)


# --- drift ------------------------------------------------------------------------------------
def phase_shift(ref_spec: np.ndarray, img_spec: np.ndarray, shape: tuple[int, int],
                upsample: int = 20):
    """``(dy, dx)`` that moves the reference onto the image, from their windowed half spectra
    (``spectrum``) of frames of ``shape``: phase correlation, refined to 1/``upsample`` px by
    evaluating the correlation's inverse DFT on a fine grid around the integer peak
    (Guizar-Sicairos et al. 2008). OpenCV's ``phaseCorrelate`` was measured 0.3 px off here.

    The correlation is real, so its spectrum is Hermitian: the inverse DFT on the fine grid is
    the real part of a sum over half the spectrum, the columns that have a mirror counted twice.
    """
    from scipy import fft
    cross = np.conj(ref_spec) * img_spec  # (Y, X // 2 + 1)
    cross *= 1 / (np.abs(cross) + 1e-12)
    corr = fft.irfft2(cross, s=shape)
    shape = np.array(shape)
    peak = np.array(np.unravel_index(np.argmax(corr), corr.shape), float)
    peak[peak > shape // 2] -= shape[peak > shape // 2]  # wrap to signed shifts
    offsets = np.arange(-1.5 * upsample, 1.5 * upsample + 1) / upsample
    ys, xs = peak[0] + offsets, peak[1] + offsets
    mirrored = np.full(cross.shape[1], 2.0)
    mirrored[0] = 1.0
    if shape[1] % 2 == 0:
        mirrored[-1] = 1.0  # the Nyquist column is its own mirror
    ky = np.exp(2j * np.pi * np.outer(ys, np.fft.fftfreq(shape[0])))  # (U, Y)
    kx = mirrored[:, None] * np.exp(2j * np.pi * np.outer(np.fft.rfftfreq(shape[1]), xs))  # (X/2+1, U)
    fine = (ky.astype(cross.dtype) @ (cross @ kx.astype(cross.dtype))).real  # (X/2+1, U) first: 2x faster
    iy, ix = np.unravel_index(np.argmax(fine), fine.shape)
    return ys[iy], xs[ix]


def spectrum(frame: np.ndarray, window: np.ndarray) -> np.ndarray:
    """Half 2-D DFT ``(Y, X // 2 + 1)`` of a windowed (Y, X) float32 frame, complex64 (scipy's
    single-precision real FFT: ~10x NumPy's double-precision full one on a 1080x385 frame; 1/20
    px needs no more)."""
    from scipy import fft
    return fft.rfft2(frame * window)


def estimate_drift(frames: np.ndarray, method: str = "phase", reference: str = "first") -> np.ndarray:
    """Sub-pixel translation of each frame relative to the reference frame.

    Returns ``(T, 2)`` float64 ``(dy, dx)`` in px: frame ``t`` equals the reference moved by
    ``(dy, dx)``. ``reference="first"`` compares with frame 0; ``"previous"`` chains frame-to-frame
    estimates (robust to slow changes in content, accumulates error).
    """
    frames = np.asarray(frames, np.float32)
    window = cv2.createHanningWindow(frames.shape[1:][::-1], cv2.CV_32F)
    shifts = np.zeros((len(frames), 2))
    spec = None  # the reference's spectrum: frame 0's, or the previous frame's
    for t in range(1, len(frames)):
        ref = frames[0] if reference == "first" else frames[t - 1]
        if method == "phase":
            spec = spectrum(ref, window) if spec is None else spec
            img_spec = spectrum(frames[t], window)
            shifts[t] = phase_shift(spec, img_spec, frames.shape[1:])
            if reference == "previous":
                spec = img_spec
            continue
        if method != "ecc":
            raise MitoError("op register", f"method must be phase or ecc, got {method!r}")
        warp = np.eye(2, 3, dtype=np.float32)
        criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-6)
        try:  # copies: OpenCV may write into its inputs, and ours can be read-only memory maps
            _, warp = cv2.findTransformECC(ref.copy(), frames[t].copy(), warp,
                                           cv2.MOTION_TRANSLATION, criteria, None, 5)
        except cv2.error:  # no convergence: keep the identity rather than crash the pipeline
            pass
        shifts[t] = warp[1, 2], warp[0, 2]
    if reference == "previous":
        shifts = np.cumsum(shifts, axis=0)
    return shifts


def shift_frame(frame: np.ndarray, dy: float, dx: float) -> np.ndarray:
    """Move a (Y, X) frame by (dy, dx) px, bicubic, edges replicated."""
    m = np.float32([[1, 0, dx], [0, 1, dy]])
    return cv2.warpAffine(frame, m, frame.shape[::-1], flags=cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REPLICATE)


@register_op("register", version=2)
def register(frames, *, method="phase", reference="first"):
    """Drift correction: undo each frame's translation against the reference (phase corr. or ECC)."""
    shifts = estimate_drift(frames, method, reference)
    out = np.empty(frames.shape, np.float32)
    for t, (dy, dx) in enumerate(shifts):
        out[t] = shift_frame(np.asarray(frames[t], np.float32), -dy, -dx)
    return np.clip(out, 0.0, 1.0, out=out)


# --- intensity --------------------------------------------------------------------------------
@register_op("normalize")
def normalize(frames, *, p_low=1.0, p_high=99.8, scope="movie"):
    """Percentile normalisation: ``p_low`` → 0 and ``p_high`` → 1, clipped; per movie or frame."""
    frames = np.asarray(frames, np.float32)
    if scope == "movie":
        lo, hi = np.percentile(frames[:, ::2, ::2], [p_low, p_high])
        return np.clip((frames - lo) / max(hi - lo, 1e-6), 0, 1).astype(np.float32)
    return per_frame(frames, lambda f: (f - np.percentile(f, p_low))
                     / max(np.percentile(f, p_high) - np.percentile(f, p_low), 1e-6))


@register_op("deoverlay")
def deoverlay(frames, *, std_max=0.012, min_value=0.235, dilate_px=2):
    """Inpaint burned-in overlays (arrows, scale bars, text): pixels that never change over the
    movie (temporal std < ``std_max``) yet are bright (minimum > ``min_value``). Needs T ≥ 3."""
    frames = np.asarray(frames, np.float32)
    if len(frames) < 3:
        return frames.copy()
    static = (frames.std(0) < std_max) & (frames.min(0) > min_value)
    if not static.any():
        return frames.copy()
    mask = cv2.dilate(static.astype(np.uint8), np.ones((2 * dilate_px + 1,) * 2, np.uint8))
    return per_frame(frames, lambda f: np.where(
        mask > 0, cv2.inpaint(to_u8(f), mask, 3, cv2.INPAINT_TELEA) / 255.0, f))


@register_op("clahe")
def clahe(frames, *, clip_limit=2.0, tiles=8):
    """Contrast-limited adaptive histogram equalisation on a ``tiles`` × ``tiles`` grid (16-bit)."""
    eq = cv2.createCLAHE(clipLimit=clip_limit, tileGridSize=(tiles, tiles))
    return per_frame(frames, lambda f: eq.apply(np.rint(f * 65535).astype(np.uint16)) / 65535.0)


# --- filters ----------------------------------------------------------------------------------
def gauss_radius(sigma_px: float) -> int:
    """Half the kernel OpenCV's ``GaussianBlur(f32, (0, 0), sigma)`` uses (ksize = round(8σ+1) | 1)."""
    return (int(round(sigma_px * 8 + 1)) | 1) // 2 if sigma_px > 0 else 0


@register_op("gaussian", halo=lambda p: gauss_radius(p["sigma_px"]))
def gaussian(frames, *, sigma_px=1.0):
    """Gaussian blur with standard deviation ``sigma_px``."""
    return per_frame(frames, lambda f: cv2.GaussianBlur(f, (0, 0), sigma_px))


@register_op("nlm", halo=lambda p: p["search_px"] // 2 + p["template_px"] // 2)
def nlm(frames, *, h=8.0, template_px=7, search_px=21):
    """Non-local means (``cv2.fastNlMeansDenoising``); ``h`` is on the 8-bit scale (0–255)."""
    return per_frame(frames, lambda f: cv2.fastNlMeansDenoising(
        to_u8(f), None, h, template_px, search_px) / 255.0)


@register_op("laplacian", halo=lambda p: gauss_radius(p["sigma_px"]) + max(p["ksize"], 3) // 2,
             intensity=False)
def laplacian(frames, *, sigma_px=1.0, ksize=3, gain=1.0):
    """Edge map: |Laplacian of Gaussian| × ``gain``, clipped to [0, 1] (a constant image gives 0)."""
    def edges(f):
        if sigma_px > 0:
            f = cv2.GaussianBlur(f, (0, 0), sigma_px)
        return np.abs(cv2.Laplacian(f, cv2.CV_32F, ksize=ksize)) * gain
    return per_frame(frames, edges)


@register_op("otsu", intensity=lambda p: p["mode"] == "masked")
def otsu(frames, *, mode="binary", sigma_px=1.0):
    """Otsu threshold per frame after a ``sigma_px`` blur: ``binary`` gives the 0/1 mask,
    ``masked`` keeps the intensities inside it and zeroes the rest."""
    if mode not in ("binary", "masked"):
        raise MitoError("op otsu", f"mode must be binary or masked, got {mode!r}")

    def threshold(f):
        g = cv2.GaussianBlur(f, (0, 0), sigma_px) if sigma_px > 0 else f
        _, m = cv2.threshold(to_u8(g), 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        return m.astype(np.float32) if mode == "binary" else f * m
    return per_frame(frames, threshold)


# --- geometry (last in a pipeline) ------------------------------------------------------------
def _fit(frame: np.ndarray, size: int) -> np.ndarray:
    return cv2.resize(frame, (size, size), interpolation=cv2.INTER_AREA if frame.shape[0] > size
                      else cv2.INTER_CUBIC)


def _center_square(shape_yx, size, params):
    """The part of a frame ``resize`` reads: its centred square, or all of it (``crop="none"``)."""
    h, w = shape_yx
    if params["crop"] != "center":
        return 0, h, 0, w
    s = min(h, w)
    y0, x0 = (h - s) // 2, (w - s) // 2
    return y0, y0 + s, x0, x0 + s


@register_op("resize", geometry=True, region=_center_square)
def resize(frames, *, size, crop="center"):
    """Whole frames to ``size`` × ``size``: centre-crop to a square (``crop="center"``) or squash
    (``crop="none"``), then area-resample."""
    out = []
    for f in frames:
        f = np.asarray(f, np.float32)
        y0, y1, x0, x1 = _center_square(f.shape, size, {"crop": crop})
        out.append(_fit(f[y0:y1, x0:x1], size))
    return np.clip(np.stack(out), 0, 1).astype(np.float32), np.arange(len(frames))


@register_op("tile", geometry=True)
def tile(frames, *, size, scale=1.0, stride_px=0, min_fg=0.05):
    """Tiles of ``size`` px (after rescaling frames by ``scale``), every ``stride_px`` (0 → no
    overlap), kept when at least ``min_fg`` of the tile is foreground (Otsu of the whole frame)."""
    stride = stride_px or size
    tiles, src = [], []
    for t, f in enumerate(frames):
        f = np.asarray(f, np.float32)
        if scale != 1.0:
            f = cv2.resize(f, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        _, fg = cv2.threshold(to_u8(cv2.GaussianBlur(f, (0, 0), 1.0)), 0, 1,
                              cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        for y in range(0, f.shape[0] - size + 1, stride):
            for x in range(0, f.shape[1] - size + 1, stride):
                if fg[y:y + size, x:x + size].mean() >= min_fg:
                    tiles.append(f[y:y + size, x:x + size])
                    src.append(t)
    if not tiles:
        return np.zeros((0, size, size), np.float32), np.zeros(0, int)
    return np.clip(np.stack(tiles), 0, 1), np.asarray(src)
