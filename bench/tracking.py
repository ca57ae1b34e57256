"""MLflow helpers: where runs are stored, experiments created once, provenance, batched metrics.

Default store: ``./mlruns/mlflow.db`` (SQLite; MLflow 3's file store is deprecated) with
artifacts under ``./mlruns/artifacts``. ``--tracking-uri`` or ``$MLFLOW_TRACKING_URI`` point
at a server (PostgreSQL-backed for many machines) instead.
"""
from __future__ import annotations

import fcntl
import logging
import os
import platform
import shutil
import subprocess
import sys
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

from bench.errors import MitoError, redact

PACKAGES = ("torch", "torchvision", "numpy", "mlflow", "optuna", "opencv-python-headless",
            "scikit-image", "torch-fidelity", "captum", "mitogan")


def resolve_tracking_uri(arg: str | None = None) -> str:
    """``arg`` beats ``$MLFLOW_TRACKING_URI`` beats ``sqlite:///<cwd>/mlruns/mlflow.db``."""
    uri = arg or os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        uri = f"sqlite:///{(Path.cwd() / 'mlruns' / 'mlflow.db').resolve()}"
    return uri


def _sqlite_path(uri: str) -> Path | None:
    return Path(uri[len("sqlite:///"):]) if uri.startswith("sqlite:///") else None


def artifact_root(uri: str) -> str | None:
    """``<db folder>/artifacts`` for a SQLite store; ``None`` (the server decides) otherwise."""
    db = _sqlite_path(uri)
    return (db.parent / "artifacts").resolve().as_uri() if db is not None else None


@contextmanager
def _store_lock(uri: str):
    """Serialise first creation of a SQLite store across processes (concurrent creation breaks)."""
    db = _sqlite_path(uri)
    if db is None:
        yield
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with open(db.with_name(db.name + ".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def client(uri: str | None = None):
    """An ``MlflowClient`` on ``resolve_tracking_uri(uri)`` with the schema-migration chatter muted."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")  # offline: nothing leaves the machine
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from mlflow.tracking import MlflowClient
    for name in ("alembic", "mlflow.store.db.utils"):
        logging.getLogger(name).setLevel(logging.WARNING)
    uri = resolve_tracking_uri(uri)
    db = _sqlite_path(uri)
    if db is not None:  # fail at once (OSError, one line at the CLI), not after MLflow's retries
        db.parent.mkdir(parents=True, exist_ok=True)
        open(db, "r+b" if db.exists() else "ab").close()
    return MlflowClient(uri)


def ensure_experiment(name: str, uri: str | None = None) -> str:
    """Create the store (if new) and experiment ``name`` (if absent) once; return its id.

    Safe to call from parallel processes on one SQLite file: creation runs under a file lock.
    """
    from mlflow.exceptions import MlflowException
    uri = resolve_tracking_uri(uri)
    with _store_lock(uri):
        c = client(uri)
        exp = c.get_experiment_by_name(name)
        if exp is not None:
            if exp.lifecycle_stage == "deleted":
                raise MitoError(f"experiment {name}", "is deleted in the tracking store; restore it "
                                "or choose another --experiment")
            return exp.experiment_id
        root = artifact_root(uri)
        try:
            return c.create_experiment(name, artifact_location=f"{root}/{_slug(name)}" if root else None)
        except MlflowException:  # another process (another machine) created it in between
            return c.get_experiment_by_name(name).experiment_id


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)


def git_commit() -> str:
    """The repository's HEAD commit (``+dirty`` when files changed), or ``unknown``."""
    repo = Path(__file__).resolve().parents[1]
    try:
        sha = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True,
                             text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "-uno"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (sha + ("+dirty" if dirty else "")) if sha else "unknown"


def provenance() -> dict:
    """``git_commit``, ``python``, ``platform`` and ``version.<package>`` for installed packages."""
    out = {"git_commit": git_commit(), "python": sys.version.split()[0],
           "platform": platform.platform()}
    for pkg in PACKAGES:
        try:
            out[f"version.{pkg}"] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out


class MetricBuffer:
    """Collects ``(key, value, step)`` and sends them ``log_batch`` entries at a time."""

    def __init__(self, c, run_id: str, log_batch: int = 200):
        self.c, self.run_id, self.size, self.items = c, run_id, log_batch, []

    def add(self, metrics: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric
        now = int(time.time() * 1000)
        self.items += [Metric(k, float(v), now, int(step)) for k, v in metrics.items()]
        if len(self.items) >= self.size:
            self.flush()

    def flush(self) -> None:
        for i in range(0, len(self.items), 1000):  # MLflow takes at most 1000 metrics per batch
            self.c.log_batch(self.run_id, metrics=self.items[i:i + 1000])
        self.items = []


def save_artifact(c, run_id: str, local: Path, artifact_dir: str) -> None:
    """Log ``local`` as ``<artifact_dir>/<name>``; on a local store, replace it atomically.

    A checkpoint overwritten every k steps must never be half-written if the process dies, so
    on a ``file:`` artifact store the file is copied beside its target and renamed.
    """
    from urllib.parse import unquote, urlparse
    uri = c.get_run(run_id).info.artifact_uri
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file"):
        dest = Path(unquote(parsed.path)) / artifact_dir
        dest.mkdir(parents=True, exist_ok=True)
        tmp = dest / f".{local.name}.{os.getpid()}.tmp"
        shutil.copyfile(local, tmp)
        os.replace(tmp, dest / local.name)
    else:
        c.log_artifact(run_id, str(local), artifact_dir)


def download(c, run_id: str, artifact_path: str, dst: Path | None = None) -> Path | None:
    """Local copy of one artifact of a run, or ``None`` when the run does not have it."""
    import mlflow
    from mlflow.exceptions import MlflowException
    try:
        return Path(mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=artifact_path,
                                                        tracking_uri=c.tracking_uri,
                                                        dst_path=str(dst) if dst else None))
    except (MlflowException, OSError):
        return None


def get_run(c, run_id: str):
    """The MLflow run ``run_id``, or ``MitoError`` naming it."""
    from mlflow.exceptions import MlflowException
    try:
        return c.get_run(run_id)
    except MlflowException as err:
        raise MitoError(f"run {run_id}", f"not found in {redact(c.tracking_uri)} ({err.error_code})") from None


def image_grid(imgs, nrow: int = 8):
    """``imgs (N, 1, S, S)`` in [0, 1] → one uint8 grid ``(H, W)`` with 2-px gaps."""
    import numpy as np
    import torch
    from torchvision.utils import make_grid
    grid = make_grid(torch.as_tensor(imgs), nrow=nrow, padding=2, pad_value=1.0)[0]  # (H, W)
    return (grid.clamp(0, 1).numpy() * 255 + 0.5).astype(np.uint8)


def loss_curve_figure(c, run_id: str, path: Path, keys=("loss_d", "loss_g", "wasserstein",
                                                          "d_real", "d_fake", "gp", "r1")) -> Path:
    """Plot the run's logged loss-like metrics against step into ``path`` (PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax_l, ax_d) = plt.subplots(1, 2, figsize=(10, 3.6))
    for key in keys:
        hist = sorted((m.step, m.value) for m in c.get_metric_history(run_id, key))
        if hist:
            ax = ax_d if key.startswith("d_") else ax_l
            ax.plot(*zip(*hist), label=key, lw=1)
    for ax, title in ((ax_l, "losses / penalties"), (ax_d, "mean D score")):
        ax.set_xlabel("generator step")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def log_to_run(run_id: str, tracking_uri: str | None, metrics: dict, artifact_path: str,
               write) -> None:
    """Log ``metrics`` to an existing MLflow run and the files ``write(folder: Path)`` puts in a
    temporary folder as artifacts under ``artifact_path``."""
    import tempfile
    c = client(tracking_uri)
    get_run(c, run_id)  # MitoError naming the run when it is missing
    for key, value in metrics.items():
        c.log_metric(run_id, key, float(value))
    with tempfile.TemporaryDirectory() as tmp:
        write(Path(tmp))
        for f in sorted(Path(tmp).iterdir()):
            save_artifact(c, run_id, f, artifact_path)
