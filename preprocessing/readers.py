"""Movie readers: one class per source format, each yielding raw 2-D planes one at a time.

A reader never holds more than one plane (or, for z projections, one z-stack of a time point)
in memory, so a TIFF larger than memory streams page by page. Every reader is re-iterable (the
importer reads twice when it needs data-set-wide intensity statistics first).

Planes come out as ``(Y, X)`` arrays in the source dtype; colour sources are reduced to one
channel here (``channel=C`` picks one; otherwise RGB becomes luminance, and the reader says so).
"""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from pathlib import Path
from typing import Iterator

import cv2
import numpy as np
from PIL import Image, ImageSequence

from bench.errors import MitoError

TIFF_EXT = {".tif", ".tiff", ".lsm", ".stk", ".btf", ".tf8"}  # Zeiss LSM, MetaMorph STK, BigTIFF
IMAGE_EXT = {".png", ".tif", ".tiff", ".jpg", ".jpeg", ".bmp"}
VIDEO_EXT = {".avi", ".mp4", ".mov", ".mkv"}
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601, the weights OpenCV's RGB2GRAY uses
MIN_SIDE = 8  # px: a thinner plane holds no mitochondrion; resizing it would invent one


def check_plane(where, shape_yx) -> None:
    """Refuse a degenerate plane (a 64×1 line, a 1×1 dot) before anything is imported."""
    if min(shape_yx) < MIN_SIDE:
        raise MitoError(where, f"frames are {shape_yx[1]}x{shape_yx[0]} px (X x Y): each side must be "
                        f"at least {MIN_SIDE} px (a line or a dot, not an image)")


def to_gray(plane: np.ndarray, channel: int | None, where, notices: set, bgr: bool = False):
    """Reduce a ``(Y, X, C)`` plane to ``(Y, X)``: pick ``channel`` or convert RGB to luminance."""
    if plane.ndim == 2:
        if channel:
            raise MitoError(where, f"--channel {channel} but the image has 1 channel")
        return plane
    if channel is not None:
        if channel >= plane.shape[-1]:
            raise MitoError(where, f"--channel {channel} but the image has {plane.shape[-1]} channels")
        return plane[..., channel]
    rgb = plane[..., :3][..., ::-1] if bgr else plane[..., :3]
    if np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]):
        return rgb[..., 0]  # grey stored as RGB: nothing to convert, nothing to say
    notices.add(f"{where}: RGB input without --channel: converted to luminance (BT.601)")
    return (rgb.astype(np.float64) @ LUMA).astype(np.float32)


class Reader(ABC):
    """A source movie. Contract: ``shape`` is the plane's ``(Y, X)``; ``frames()`` yields
    ``(frame_index, z_index_or_None, plane (Y, X))`` in time order, after ``frames``/``z``/``channel``
    selection, each plane a fresh array in the source dtype (float32 for projections)."""

    label = ""  # "s1", "scene-B": which series/scene of a multi-movie file (part of the movie id)
    pixel_size_um: float | None = None  # from the file's metadata (see preprocessing/physical.py)
    frame_interval_s: float | None = None

    def __init__(self, path: Path, *, channel=None, z="max", frames=None):
        self.path, self.channel, self.z, self.frame_slice = path, channel, z, frames
        self.notices: set[str] = set()

    @property
    @abstractmethod
    def shape(self) -> tuple[int, int]: ...

    @property
    @abstractmethod
    def dtype(self) -> np.dtype: ...

    @abstractmethod
    def frames(self) -> Iterator[tuple[int, int | None, np.ndarray]]: ...

    def _times(self, n: int) -> range:
        times = range(n)[self.frame_slice] if self.frame_slice else range(n)
        if len(times) == 0:
            raise MitoError(self.path, "movie has zero frames" + (
                f" in --frames {self.frame_slice.start}:{self.frame_slice.stop}" if n else ""))
        return times


class GifReader(Reader):
    """Animated GIF (palette or RGB), decoded frame by frame with Pillow."""

    def __init__(self, path, **kw):
        super().__init__(path, **kw)
        try:
            with Image.open(path) as im:
                self._shape, self._n = (im.height, im.width), getattr(im, "n_frames", 1)
        except Exception as err:
            raise MitoError(path, f"cannot read GIF ({err})") from err

    shape = property(lambda self: self._shape)
    dtype = property(lambda self: np.dtype(np.uint8))

    def frames(self):
        times = set(self._times(self._n))
        with Image.open(self.path) as im:
            for t, frame in enumerate(ImageSequence.Iterator(im)):
                if t in times:
                    yield t, None, to_gray(np.asarray(frame.convert("RGB")), self.channel,
                                           self.path, self.notices)


class VideoReader(Reader):
    """AVI / MP4 / MOV through OpenCV (8-bit)."""

    def __init__(self, path, **kw):
        super().__init__(path, **kw)
        cap = cv2.VideoCapture(str(path))
        ok, first = cap.read() if cap.isOpened() else (False, None)
        self._n = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) if ok else 0
        cap.release()
        if not ok:
            raise MitoError(path, "cannot decode video, or it has zero frames")
        self._shape = first.shape[:2]

    shape = property(lambda self: self._shape)
    dtype = property(lambda self: np.dtype(np.uint8))

    def frames(self):
        wanted = set(self._times(self._n))  # the container's frame count
        cap = cv2.VideoCapture(str(self.path))
        try:
            for t in range(max(wanted) + 1):
                ok, frame = cap.read()
                if not ok:
                    break
                if t in wanted:
                    yield t, None, to_gray(frame, self.channel, self.path, self.notices, bgr=True)
        finally:
            cap.release()


class FolderReader(Reader):
    """A folder of single-plane images (PNG/TIFF/JPEG), one frame each, in natural name order."""

    def __init__(self, path, **kw):
        super().__init__(path, **kw)
        key = lambda p: [int(s) if s.isdigit() else s for s in re.split(r"(\d+)", p.name)]
        self.files = sorted((p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXT), key=key)
        if not self.files:
            raise MitoError(path, f"folder holds no images ({', '.join(sorted(IMAGE_EXT))})")
        first = self._load(self.files[0])
        self._shape, self._dtype = first.shape[:2], first.dtype

    shape = property(lambda self: self._shape)
    dtype = property(lambda self: self._dtype)

    def _load(self, f: Path) -> np.ndarray:
        from preprocessing.readers_tiff import single_plane_tiff  # late: it subclasses Reader
        img = single_plane_tiff(f) if f.suffix.lower() in TIFF_EXT else cv2.imread(str(f), cv2.IMREAD_UNCHANGED)
        if img is None:
            raise MitoError(f, "cannot decode image")
        return to_gray(img, self.channel, f, self.notices, bgr=f.suffix.lower() not in TIFF_EXT)

    def frames(self):
        for t in self._times(len(self.files)):
            plane = self._load(self.files[t])
            if plane.shape[:2] != self._shape:
                raise MitoError(self.files[t], f"frame size {plane.shape[:2]} differs from "
                                f"{self._shape} of {self.files[0].name} in the same folder")
            yield t, None, plane


def open_readers(path: Path, **kw) -> list[Reader]:
    """One reader per movie in ``path``: each series of a TIFF (reduced-resolution thumbnails
    and pyramid levels excepted), each scene of a vendor file, else ``[open_reader(path)]``."""
    if path.suffix.lower() in TIFF_EXT and path.is_file():
        from preprocessing.readers_tiff import tiff_readers  # late: it subclasses Reader
        readers = tiff_readers(path, **kw)
        for r in readers:
            check_plane(path, r.shape)
        return readers
    from preprocessing import readers_bioio  # late: it subclasses Reader
    if readers_bioio.is_bioio_path(path):
        readers = readers_bioio.open_bioio(path, **kw)
        for r in readers:
            check_plane(path, r.shape)
        return readers
    return [open_reader(path, **kw)]


def open_reader(path: Path, **kw) -> Reader:
    """The reader for ``path`` by extension (or folder); ``MitoError`` for anything else,
    including planes too small to be images (``check_plane``)."""
    reader = _open(path, **kw)
    check_plane(path, reader.shape)
    return reader


def _open(path: Path, **kw) -> Reader:
    if not path.exists():
        raise MitoError(path, "no such file or folder")
    from preprocessing import readers_bioio  # late: both subclass Reader
    from preprocessing.readers_tiff import TiffReader
    if readers_bioio.is_bioio_path(path):
        return readers_bioio.open_bioio(path, **kw)[0]
    if path.is_dir():
        images = [p for p in path.iterdir() if p.suffix.lower() in IMAGE_EXT]
        if len(images) == 1 and images[0].suffix.lower() in TIFF_EXT:
            stack = TiffReader(images[0], **kw)
            if np.prod(stack.page_shape, dtype=np.int64) > 1:
                return stack  # a folder holding one stack: that stack, read whole
        return FolderReader(path, **kw)
    ext = path.suffix.lower()
    if ext in TIFF_EXT:
        return TiffReader(path, **kw)
    if ext == ".gif":
        return GifReader(path, **kw)
    if ext in VIDEO_EXT:
        return VideoReader(path, **kw)
    if ext in IMAGE_EXT:
        raise MitoError(path, "a single image: put frames in a folder, or use a TIFF stack")
    supported = sorted(TIFF_EXT | VIDEO_EXT | {".gif"} | set(readers_bioio.BIOIO_EXT))
    raise MitoError(path, f"unsupported extension {ext or '(none)'!r} (supported: "
                    f"{', '.join(supported)}, .ome.zarr, or a folder of images)")
