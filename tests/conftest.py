"""Shared fixtures and helpers: a temporary workspace, the real data in ../shared/data, tiny
synthetic movies and data sets, and the study helpers (study files, the CLI, MLflow/Optuna checks)."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np
import pytest
import yaml

if TYPE_CHECKING:  # imported where used: mlflow and optuna are slow to import for every test
    import optuna
    from mlflow.tracking import MlflowClient

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


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


def tubes(size=96, seed=0) -> np.ndarray:
    """A noise-free (Y, X) image of bright curved tubes on a dark background, in [0, 1]."""
    rng = np.random.default_rng(seed)
    img = np.zeros((size, size), np.float32)
    for _ in range(6):
        pts = np.cumsum(rng.normal(0, 6, (8, 2)), 0) + rng.uniform(20, size - 20, 2)
        cv2.polylines(img, [pts.astype(np.int32)], False, 1.0, 2)
    return np.clip(cv2.GaussianBlur(img, (0, 0), 1.2) * 1.5, 0, 1) * 0.8 + 0.05


def movie(t=4, size=64, seed=0):
    """``t`` frames of ``tubes(size, seed)`` with Gaussian noise, (T, Y, X) float32 in [0, 1]."""
    rng = np.random.default_rng(seed)
    return np.clip(np.stack([tubes(size, seed)] * t) + rng.normal(0, 0.03, (t, size, size)), 0, 1).astype(np.float32)


def cells_dataset(folder: Path, workspace: Path, name: str = "cells", movies: int = 4,
                  frames: int = 6, size: int = 48, pixel_size_um: float | None = None):
    """Import ``movies`` small 16-bit TIFF movies of noisy tubes (``movie``) as data set ``name``:
    the tiny real data set the training, study and report tests share."""
    import tifffile

    from preprocessing.ingest import import_dataset

    paths = []
    for i in range(movies):
        path = folder / f"cell{i}.tif"
        tifffile.imwrite(path, (movie(frames, size, seed=i) * 4000).astype(np.uint16),
                         photometric="minisblack")
        paths.append(path)
    return import_dataset(paths, name, workspace, progress=False, pixel_size_um=pixel_size_um)


# --- studies (tests/test_study.py, tests/test_study_postgres.py, tests/test_report.py) ---

PIPELINES = ["normalize|resize", "normalize|gaussian(sigma_px=1)|resize"]


def tiny_study(path: Path, name: str, **over) -> Path:
    """Write a 4-cell study file with tiny budgets; ``over`` replaces top-level keys."""
    doc = {"name": name, "datasets": ["cells"], "pipelines": PIPELINES, "gans": ["dcgan", "lsgan"],
           "budget": {"steps": 12, "size": 32, "batch": 8, "n_eval_samples": 32},
           "train": {"width": 8, "latent_dim": 16},
           # the finishing steps cost more than a tiny study: on only where a test checks them
           "finish": {"explain": False, "judge": False, "generate": False}, **over}
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.fixture
def study_dir(tmp_path, monkeypatch):
    """A tmp dir holding the workspace (data set ``cells``: 4 movies × 6 frames) and ./mlruns."""
    ws = tmp_path / "ws"
    cells_dataset(tmp_path, ws)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MITOGAN_WORKSPACE", str(ws))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


def mitogan(*args, cwd, **kw) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", "bench.cli", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kw)


def local_uri(root: Path) -> str:
    """The default MLflow store of a study run in ``root`` (spelled out: see ``local_study`` in
    tests/test_study.py)."""
    return f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"


def child_runs(client: MlflowClient, study: optuna.Study) -> list:
    parent = study.user_attrs["mlflow_parent_run_id"]
    exp = client.get_run(parent).info.experiment_id
    return client.search_runs([exp], filter_string=f"tags.`mlflow.parentRunId` = '{parent}'")


def assert_nothing_running(client: MlflowClient, study: optuna.Study) -> None:
    import optuna
    assert not study.get_trials(states=(optuna.trial.TrialState.RUNNING,))
    exp = client.get_run(study.user_attrs["mlflow_parent_run_id"]).info.experiment_id
    assert not client.search_runs([exp], filter_string="attributes.status = 'RUNNING'")


def _has_experiment(study_dir: Path, name: str) -> bool:
    """Whether the study's SQLite store holds its experiment (read-only, no MLflow)."""
    import sqlite3
    from contextlib import closing
    db = study_dir / "mlruns" / "mlflow.db"
    try:
        with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as con:
            return con.execute("SELECT 1 FROM experiments WHERE name = ?",
                               (f"study-{name}",)).fetchone() is not None
    except sqlite3.Error:  # absent, or its tables not created yet
        return False


def wait_for_training(study_dir: Path, name: str, timeout: float = 180) -> None:
    """Block until some trial of study ``name`` has a child run RUNNING (mid-training)."""
    from mlflow.tracking import MlflowClient
    client = MlflowClient(local_uri(study_dir))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # MLflow only once the study has created the store and its experiment: a client opened
        # on a store mid-migration takes write locks that the study's own writes then hit
        exp = client.get_experiment_by_name(f"study-{name}") if _has_experiment(study_dir, name) else None
        if exp and client.search_runs([exp.experiment_id], filter_string=(
                f"attributes.status = 'RUNNING' and tags.`mitogan.trial_key` LIKE '{name}:%'")):
            return
        time.sleep(0.3)
    raise AssertionError(f"no trial of {name} started training within {timeout} s")
