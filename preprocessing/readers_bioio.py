"""Vendor microscope formats through bioio (optional extra ``mitogan[formats]``).

OME-Zarr, Zeiss CZI, Nikon ND2, Leica LIF and DeltaVision DV are read by bioio's plugins, one
``(Y, X)`` plane at a time (``get_image_dask_data`` computes just that plane), so a file larger
than memory streams like a TIFF does. Each scene / position of a file is a movie of its own.
Pixel size and frame interval come from bioio's ``physical_pixel_sizes`` and ``time_interval``.
TIFF variants (OME-TIFF included) stay with tifffile (``readers_tiff.TiffReader``).
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from bench.errors import MitoError
from preprocessing.readers import Reader, to_gray

# extension → the bioio plugin that reads it (named in the message when it is missing)
BIOIO_EXT = {".czi": "bioio-czi", ".nd2": "bioio-nd2", ".lif": "bioio-lif", ".dv": "bioio-dv",
             ".r3d": "bioio-dv", ".zarr": "bioio-ome-zarr"}
EXTRA = "pip install 'mitogan[formats]'"


def is_bioio_path(path: Path) -> bool:
    """A vendor file, or an OME-Zarr folder (``*.zarr`` or any folder with ``.zattrs`` /
    ``zarr.json`` at its root)."""
    if path.suffix.lower() in BIOIO_EXT:
        return True
    return path.is_dir() and ((path / ".zattrs").is_file() or (path / "zarr.json").is_file())


def _image(path: Path):
    """``bioio.BioImage(path)``, or one line naming the extra / plugin to install."""
    plugin = BIOIO_EXT.get(path.suffix.lower(), "bioio-ome-zarr")
    try:
        from bioio import BioImage
    except ImportError:
        raise MitoError(path, f"{path.suffix or 'OME-Zarr'} files need the optional formats extra: "
                        f"{EXTRA}") from None
    try:
        return BioImage(path)
    except Exception as err:  # plugins raise many types for damaged files
        if type(err).__name__ == "UnsupportedFileFormatError":  # bioio_base's: no plugin took it
            raise MitoError(path, f"no bioio plugin reads it: {EXTRA} (or pip install {plugin})") from None
        raise MitoError(path, f"cannot read ({type(err).__name__}: {err})") from err


def open_bioio(path: Path, **kw) -> list["BioioReader"]:
    """One reader per scene of ``path``."""
    if not path.exists():
        raise MitoError(path, "no such file or folder")
    scenes = list(_image(path).scenes)
    readers = [BioioReader(path, scene=i, **kw) for i in range(len(scenes))]
    if len(readers) > 1:
        for r, name in zip(readers, scenes):
            r.label = re.sub(r"[^A-Za-z0-9._-]", "_", str(name)) or f"scene{r.scene}"
    return readers


def _positive(value) -> float | None:
    try:
        v = float(value.total_seconds() if hasattr(value, "total_seconds") else value)
    except (TypeError, ValueError):
        return None
    return v if np.isfinite(v) and v > 0 else None


class BioioReader(Reader):
    """Scene ``scene`` of a bioio-readable file: axes T, C, Z, Y, X (and samples S for RGB)."""

    def __init__(self, path, scene: int = 0, **kw):
        super().__init__(path, **kw)
        self.scene = scene
        img = self._open()
        dims = img.dims
        self.n_t, self.n_c, self.n_z = dims.T, dims.C, dims.Z
        self.n_s = getattr(dims, "S", 1) if "S" in dims.order else 1
        self._shape, self._dtype = (dims.Y, dims.X), np.dtype(img.dtype)
        self.pixel_size_um = _positive(img.physical_pixel_sizes.X)
        try:
            self.frame_interval_s = _positive(img.time_interval)
        except Exception:  # plugins without a time interval raise rather than return None
            self.frame_interval_s = None
        if self.n_c > 1 and self.channel is None:
            raise MitoError(path, f"has {self.n_c} channels (scene {scene}): pick one with --channel")
        if self.channel is not None and self.n_s == 1 and self.channel >= self.n_c:
            raise MitoError(path, f"--channel {self.channel} but the file has {self.n_c} channels")

    shape = property(lambda self: self._shape)
    dtype = property(lambda self: self._dtype)

    def _open(self):
        img = _image(self.path)
        img.set_scene(self.scene)
        return img

    def _plane(self, img, t: int, z: int) -> np.ndarray:  # (Y, X) in the source dtype
        c = self.channel if (self.channel is not None and self.n_s == 1) else 0
        if self.n_s > 1:
            yxs = img.get_image_dask_data("YXS", T=t, C=c, Z=z).compute()
            return np.array(to_gray(np.asarray(yxs), self.channel, self.path, self.notices))
        return np.array(img.get_image_dask_data("YX", T=t, C=c, Z=z).compute())

    def frames(self):
        img = self._open()
        for t in self._times(self.n_t):
            if self.z == "slices" or self.n_z <= 1:
                for z in range(self.n_z):
                    yield t, (z if self.n_z > 1 else None), self._plane(img, t, z)
            else:
                stack = np.stack([self._plane(img, t, z).astype(np.float32) for z in range(self.n_z)])
                yield t, None, stack.max(0) if self.z == "max" else stack.mean(0)
