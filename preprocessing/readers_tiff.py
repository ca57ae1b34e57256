"""TIFF readers (tifffile): stacks of every layout, one movie per series, streamed page by page.

Split from :mod:`preprocessing.readers` (which dispatches here by extension) to keep both files
readable; the contract is :class:`preprocessing.readers.Reader`'s.
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import tifffile

from bench.errors import MitoError
from preprocessing.physical import tiff_units
from preprocessing.readers import Reader, to_gray


class _TiffLog(logging.Handler):
    """Collects tifffile's warnings: it reports a truncated file (e.g. "invalid page offset")
    by logging and then quietly returns the pages it could reach."""

    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record):
        self.messages.append(record.getMessage())

    def __enter__(self):
        logging.getLogger("tifffile").addHandler(self)
        return self

    def __exit__(self, *exc):
        logging.getLogger("tifffile").removeHandler(self)


class TiffReader(Reader):
    """TIFF / OME-TIFF / LSM / STK / BigTIFF stacks: YX, TYX, ZYX, TZYX, with channels (C or
    samples S), any dtype; series ``series`` of the file (``open_readers`` makes one per series)."""

    def __init__(self, path, series: int = 0, **kw):
        super().__init__(path, **kw)
        self.series = series
        try:
            with _TiffLog() as log, tifffile.TiffFile(path) as tif:
                series = tif.series[self.series]
                self.pixel_size_um, self.frame_interval_s = tiff_units(tif, self.series)
                self.axes, self.full_shape = series.axes, tuple(series.shape)
                self._dtype = np.dtype(series.dtype)
                n_pages, n_file_pages = len(series.pages), len(tif.pages)  # len() walks every IFD
                self.plane_axes = series.keyframe.axes  # the axes one page holds: YX, YXS or SYX
                declared = (tif.imagej_metadata or {}).get("images", 0) if tif.is_imagej else 0
        except Exception as err:  # tifffile raises many types for damaged files
            raise MitoError(path, f"cannot read TIFF ({type(err).__name__}: {err})") from err
        if log.messages or declared > n_file_pages:
            why = log.messages[0] if log.messages else f"ImageJ header declares {declared} images"
            raise MitoError(path, f"truncated or corrupt TIFF: {why}; only {n_file_pages} "
                            "page(s) readable (refusing to import part of the stack)")
        # The leading axes (before the page's own) index pages.
        self.page_axes = self.axes[: len(self.axes) - len(self.plane_axes)]
        self.page_shape = self.full_shape[: len(self.page_axes)]
        if n_pages != int(np.prod(self.page_shape, dtype=np.int64)):
            raise MitoError(path, f"TIFF has {n_pages} pages for axes {self.axes} "
                            f"{self.full_shape}: truncated or unsupported layout")
        if self._dtype.kind == "c":
            raise MitoError(path, f"unsupported complex dtype {self._dtype}")
        n_c = self._size("C") if "C" in self.page_axes else (
            self.full_shape[-1] if self.plane_axes == "YXS" else
            self.full_shape[len(self.page_axes)] if self.plane_axes == "SYX" else 1)
        if self.channel is not None and self.channel >= n_c:
            raise MitoError(path, f"--channel {self.channel} but the file has {n_c} channel(s) "
                            f"(axes {self.axes})")

    @property
    def shape(self):
        y = self.axes.index("Y")
        return self.full_shape[y], self.full_shape[y + 1]

    @property
    def dtype(self):
        return self._dtype

    def _size(self, axes: str) -> int:
        return int(np.prod([self.page_shape[i] for i, a in enumerate(self.page_axes) if a in axes]))

    def frames(self):
        n_t, n_z = self._size("TIQ"), self._size("Z")
        n_c = self._size("C")
        if n_c > 1 and self.channel is None:
            raise MitoError(self.path, f"has {n_c} channels (axes {self.axes}): pick one with --channel")
        c = self.channel or 0
        if "C" in self.page_axes and c >= n_c:
            raise MitoError(self.path, f"--channel {c} but the file has {n_c} channels")
        with tifffile.TiffFile(self.path) as tif:
            pages = tif.series[self.series].pages
            for t in self._times(n_t):
                zs = range(n_z) if n_z else [None]
                planes = []
                for z in zs:
                    plane = self._read(pages, self._page_index(t, z, c))
                    if self.z == "slices" or n_z <= 1:
                        yield t, z, plane
                    else:
                        planes.append(plane.astype(np.float32))
                if planes:
                    stack = np.stack(planes)  # (Z, Y, X)
                    yield t, None, stack.max(0) if self.z == "max" else stack.mean(0)

    def _page_index(self, t, z, c) -> int:
        idx, t_rest = [], t
        sizes = {a: s for a, s in zip(self.page_axes, self.page_shape)}
        for a in self.page_axes:  # T-like axes may be several (e.g. "IT"); unravel t over them
            if a in "TIQ":
                inner = int(np.prod([sizes[b] for b in self.page_axes[self.page_axes.index(a) + 1:]
                                     if b in "TIQ"]))
                idx.append(t_rest // inner)
                t_rest %= inner
            else:
                idx.append({"Z": z or 0, "C": c}.get(a, 0))
        return int(np.ravel_multi_index(idx, self.page_shape)) if idx else 0

    def _read(self, pages, i) -> np.ndarray:
        try:
            plane = pages[i].asarray()
        except Exception as err:
            raise MitoError(self.path, f"corrupt or truncated TIFF at page {i} ({err})") from err
        if self.plane_axes == "SYX":
            plane = np.moveaxis(plane, 0, -1)
        plane = to_gray(plane, self.channel if "S" in self.plane_axes else None, self.path, self.notices)
        return np.array(plane)  # own the memory: never keep a view into tifffile's buffers


def tiff_readers(path: Path, **kw) -> list[TiffReader]:
    """One reader per series of the TIFF ``path`` (reduced-resolution thumbnails and pyramid
    levels excepted); several series are labelled ``s0``, ``s1``… and become several movies."""
    try:
        with tifffile.TiffFile(path) as tif:
            main = [i for i, s in enumerate(tif.series) if not s.keyframe.is_reduced]
    except Exception as err:  # tifffile raises many types for damaged files
        raise MitoError(path, f"cannot read TIFF ({type(err).__name__}: {err})") from err
    readers = [TiffReader(path, series=i, **kw) for i in main or [0]]
    if len(readers) > 1:
        for r in readers:
            r.label = f"s{r.series}"
    return readers


def single_plane_tiff(f: Path) -> np.ndarray:
    """One TIFF frame of a folder as ``(Y, X)`` or ``(Y, X, S)``; a stack is refused, never
    mistaken for a colour image."""
    try:
        with tifffile.TiffFile(f) as tif:
            series = tif.series[0]
            if len(series.pages) > 1:
                raise MitoError(f, f"a {len(series.pages)}-page TIFF stack ({series.axes} "
                                f"{tuple(series.shape)}) in a folder of single-frame images: "
                                "import the stack file itself")
            img = series.asarray()
            return np.moveaxis(img, 0, -1) if series.keyframe.axes == "SYX" else img
    except MitoError:
        raise
    except Exception as err:
        raise MitoError(f, f"cannot read TIFF ({type(err).__name__}: {err})") from err
