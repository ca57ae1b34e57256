"""A physics-inspired simulator of fluorescence movies of mitochondria, with ground truth.

``simulate(out_dir, movies=, frames=, size_yx=, seed=, classes=, params=)`` writes, per movie:

``movie_XXX.tif``
    uint16 stack, axes TYX, ImageJ metadata: pixel size (``unit`` um, resolution px/µm) and
    ``finterval`` (s). Camera counts: offset + gain x (Poisson photons + Gaussian read noise).
``movie_XXX.gt.npz`` (arrays, one entry per frame t)
    ``clean`` float32 (T, Y, X): noise-free in-focus signal in expected photons per pixel (PSF,
    drift and photobleaching applied; no haze, background or noise).
    ``mask``, ``skeleton``, ``branch_points``, ``tips``, ``beads``: bool (T, Y, X).
    ``structure_labels``: int16 (T, Y, X), structure id per mask pixel (0 = background).
    Definitions of each in ``render``'s docstring.
``movie_XXX.gt.json``
    ``format`` ("mitogan-sim-gt/1"), ``class`` (the movie's morphology class), ``seed``,
    ``movie_index``, ``frames``, ``size_yx``, ``pixel_size_um``, ``frame_interval_s``,
    ``structures`` {id: {class, born_t, parent}} (``parent``: the id it split from by fission),
    ``events`` [{t (frame), time_s, type: fission|fusion|pearling_start|pearling_end,
    xy [x, y] px in the frame (drift included), xy_um [x, y] µm before drift, structure,
    spacing_um (pearling), absorbed (fusion: the id merged away)}], ``drift_px`` [[dy, dx]] per
    frame (frame t = frame 0 content moved by (dy, dx)), ``params`` (every ``SimParams`` field),
    ``pearl_spacing_factor`` (2 pi sqrt(2) = 8.886: pearl spacing / tubule radius), ``arrays``.

Morphology classes (``geometry.list_classes()``): tubular, fragmented, hyperfused, pearled.
"""
import importlib

# name → submodule, imported on first use (PEP 562): ``mitogan --help`` builds the ``data
# simulate`` parser from this package without paying for OpenCV, scikit-image and SciPy
_LAZY = {"simulate": "core", "load_ground_truth": "core", "allocate_classes": "core",
         "list_classes": "geometry", "register_class": "geometry",
         "SimParams": "params", "PEARL_SPACING_FACTOR": "params"}
__all__ = list(_LAZY)


def __getattr__(name: str):
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
