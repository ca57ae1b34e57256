"""One OME-TIFF stack (TYX, uint16) of exported frames, carrying the training data's pixel size,
so that Fiji, napari or bioio open the synthetic set with a scale bar in µm."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from analysis.export import read_frame


def write_ome_stack(files: list[Path], path: Path, pixel_size_um: float | None) -> Path:
    """``files`` (one frame each, read back one at a time) → ``path`` as one OME-TIFF series.

    ``pixel_size_um`` is written as ``PhysicalSizeX/Y`` (µm) when known; the file is written
    beside ``path`` and renamed, so an interrupted write leaves no half stack.
    """
    import tifffile
    if not files:
        raise ValueError("no frames to stack")
    first = read_frame(files[0])  # (S, S) uint16
    meta = {"axes": "TYX"}
    if pixel_size_um:
        meta.update(PhysicalSizeX=pixel_size_um, PhysicalSizeY=pixel_size_um,
                    PhysicalSizeXUnit="µm", PhysicalSizeYUnit="µm")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    pages = (read_frame(f) for f in files)  # streamed: one frame in memory at a time
    with tifffile.TiffWriter(tmp, ome=True, bigtiff=len(files) * first.nbytes > 2**31) as tif:
        tif.write(pages, shape=(len(files), *first.shape), dtype=np.uint16,
                  photometric="minisblack", metadata=meta)
    os.replace(tmp, path)
    return path
