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
