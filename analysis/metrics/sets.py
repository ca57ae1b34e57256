"""Sets of frames to compare: a data set through a pipeline, or a folder of images."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import tifffile

from bench.errors import MitoError
from preprocessing.readers import IMAGE_EXT


@dataclass
class FrameSet:
    """Frames to compare: ``x`` ``(N, 1, size, size)`` float32 [0, 1], ``movie_ids`` ``(N,)`` str."""

    name: str
    x: np.ndarray
    movie_ids: np.ndarray
    key: str


def _read_image(path: Path) -> np.ndarray:
    """One image file → ``(Y, X)`` float32 in [0, 1], scaled by its dtype's range (16-bit kept)."""
    img = tifffile.imread(path) if path.suffix.lower() in {".tif", ".tiff"} else \
        cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise MitoError(path, "unreadable image")
    img = np.squeeze(img)
    if img.ndim == 3:  # colour: luminance (OpenCV files are BGR)
        img = img[..., :3].astype(np.float32) @ np.array([0.114, 0.587, 0.299], np.float32)
        img = img / (255.0 if img.max() <= 255 else 65535.0)
    elif img.ndim != 2:
        raise MitoError(path, f"expected a 2-D image, got shape {img.shape}")
    elif np.issubdtype(img.dtype, np.integer):
        img = img.astype(np.float32) / np.iinfo(img.dtype).max
    return np.clip(img.astype(np.float32), 0.0, 1.0)


def load_set(spec: str, *, workspace=None, pipeline: str = "normalize", size: int = 64) -> FrameSet:
    """A data set name (processed by ``pipeline`` at ``size``) or a folder of images.

    Folder images are read at full bit depth and area-resized to ``size``; the movie of an image
    is its sub-folder (images directly in the folder are each a movie of their own).
    """
    folder = Path(spec)
    if folder.is_dir():
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXT)
        if not files:
            raise MitoError(folder, f"no images ({', '.join(sorted(IMAGE_EXT))}) in this folder")
        x = np.stack([cv2.resize(_read_image(p), (size, size), interpolation=cv2.INTER_AREA)
                      for p in files])[:, None]  # (N, 1, size, size)
        ids = np.array([str(p.parent.relative_to(folder)) if p.parent != folder else p.stem for p in files])
        return FrameSet(folder.name, np.clip(x, 0, 1).astype(np.float32), ids, f"folder-{size}")
    from preprocessing.dataset import Dataset
    from preprocessing.pipeline import prepare

    prep = prepare(Dataset.load(spec, workspace), pipeline, size, workspace)
    return FrameSet(spec, prep.x, prep.movie_ids.astype(str), prep.key)
