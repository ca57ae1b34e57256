"""Contact sheets: a labelled grid of frames as one PNG, for people to look at."""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from bench.workspace import atomic_write

LABEL_PX = 150  # width of the label column


def _tile(frame: np.ndarray, px: int) -> np.ndarray:
    """A (Y, X) frame in [0, 1] fitted into a px × px uint8 tile, aspect kept, padded grey."""
    f = np.clip(np.asarray(frame, np.float32), 0, 1)
    scale = px / max(f.shape)
    h, w = max(1, round(f.shape[0] * scale)), max(1, round(f.shape[1] * scale))
    small = cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_NEAREST)
    tile = np.full((px, px), 40, np.uint8)
    y0, x0 = (px - h) // 2, (px - w) // 2
    tile[y0:y0 + h, x0:x0 + w] = np.rint(small * 255).astype(np.uint8)
    return tile


def contact_sheet(rows: list[tuple[str, list[np.ndarray]]], path: Path, tile_px: int = 128,
                  title: str = "") -> Path:
    """Write rows of frames (each row: a label and a list of (Y, X) frames in [0, 1]) as a PNG.

    The file is written next to ``path`` and renamed into place, so readers never see half a PNG.
    """
    path = Path(path)
    n_cols = max(len(frames) for _, frames in rows)
    gap = 4
    head = 28 if title else 0
    sheet = np.full((head + len(rows) * (tile_px + gap) + gap,
                     LABEL_PX + n_cols * (tile_px + gap) + gap), 255, np.uint8)
    if title:
        cv2.putText(sheet, title, (6, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.55, 0, 1, cv2.LINE_AA)
    for r, (label, frames) in enumerate(rows):
        y = head + gap + r * (tile_px + gap)
        for line, text in enumerate(label.split("\n")[:4]):
            cv2.putText(sheet, text[:22], (6, y + 18 + 18 * line), cv2.FONT_HERSHEY_SIMPLEX,
                        0.45, 0, 1, cv2.LINE_AA)
        for c, frame in enumerate(frames):
            x = LABEL_PX + gap + c * (tile_px + gap)
            sheet[y:y + tile_px, x:x + tile_px] = _tile(frame, tile_px)
    path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda tmp: cv2.imwrite(str(tmp), sheet))


def dataset_sheet(dataset, path: Path, n: int = 8) -> Path:
    """Sample frames spread over every movie of a data set, one row per movie (at most 6)."""
    rows = []
    for movie_id, frames in list(dataset.iter_movies())[:6]:
        pick = np.linspace(0, len(frames) - 1, min(n, len(frames))).round().astype(int)
        rows.append((f"{movie_id}\n{len(frames)} frames", [frames[i] for i in pick]))
    return contact_sheet(rows, path, title=f"{dataset.name}: {dataset.n_frames} frames, "
                         f"{len(dataset.movies)} movies, hash {dataset.hash[:12]}")


def pipeline_sheet(columns: list[list[np.ndarray]], pipeline, size: int, path: Path) -> Path:
    """One row per op (the frame after that op), one column per movie, then the training samples.

    ``columns[m]``: movie ``m``'s frame ``(Y, X)`` in [0, 1] as it came in, after each op, and
    its first training sample (``preprocessing.pipeline.prepare`` keeps them as it runs)."""
    labels = [name for name, _ in pipeline.steps[:-1]]
    labels = ["input"] + labels + [f"{pipeline.steps[-1][0]} {size}px"]
    rows = [(label, [col[r] for col in columns]) for r, label in enumerate(labels)]
    return contact_sheet(rows, path, title=pipeline.canonical()[:110])
