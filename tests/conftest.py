"""Shared fixtures: a temporary workspace and the real data in ../shared/data."""
from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture
def workspace(tmp_path, monkeypatch):
    """A fresh MitoGAN workspace (also exported as $MITOGAN_WORKSPACE for CLI calls)."""
    ws = tmp_path / "ws"
    ws.mkdir()
    monkeypatch.setenv("MITOGAN_WORKSPACE", str(ws))
    return ws


@pytest.fixture
def shared_data() -> Path:
    """``../shared/data`` beside the repository; tests using it skip when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not available: {SHARED_DATA} is absent (a fresh clone has no ../shared)")
    return SHARED_DATA


HELA_ROIS = ["80,100,360,320", "420,100,740,320", "780,100,1080,320"]  # panel A, B, C (data README)


def cells_dataset(folder: Path, workspace: Path, name: str = "cells", movies: int = 4,
                  frames: int = 6, size: int = 48):
    """Import ``movies`` small 16-bit TIFF movies of noisy tubes (``tests.test_ops.movie``) as data
    set ``name``: the tiny real data set the training, study and report tests share."""
    import numpy as np
    import tifffile

    from preprocessing.ingest import import_dataset
    from tests.test_ops import movie

    paths = []
    for i in range(movies):
        path = folder / f"cell{i}.tif"
        tifffile.imwrite(path, (movie(frames, size, seed=i) * 4000).astype(np.uint16),
                         photometric="minisblack")
        paths.append(path)
    return import_dataset(paths, name, workspace, progress=False)
