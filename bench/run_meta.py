"""MLflow 3 conventions for a training run: a name that tells trials apart, the standard source
tags the UI shows, the data set as a dataset input, system metrics where psutil is installed."""
from __future__ import annotations

import getpass
import importlib.util
import logging
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_name(gan: str, pipeline: str, seed: int, *, diffaug=False, ada=False, output="tanh",
             ema=False) -> str:
    """``sngan+da+ada+fl normalize-nlm-laplacian s0``: variant (+DiffAugment, +ADA, +the
    fluorescence output, +EMA), op names, seed."""
    from preprocessing.pipeline import Pipeline
    ops = "-".join(n for n, _ in Pipeline.parse(pipeline).steps if n not in ("resize", "tile"))
    marks = "".join(m for m, on in (("+da", diffaug), ("+ada", ada), ("+fl", output == "fluorescence"),
                                    ("+ema", ema)) if on)
    return f"{gan}{marks} {ops or 'raw'} s{seed}"


def source_tags(git_commit: str) -> dict[str, str]:
    """``mlflow.source.*`` and ``mlflow.user`` as MLflow's own fluent API would set them."""
    tags = {"mlflow.source.type": "LOCAL", "mlflow.source.name": Path(sys.argv[0]).name or "python",
            "mlflow.user": _user()}
    if git_commit != "unknown":
        tags["mlflow.source.git.commit"] = git_commit.split("+")[0]  # the tag takes the bare sha
        tags["mitogan.git_dirty"] = str(git_commit.endswith("+dirty")).lower()
        for tag, args in (("mlflow.source.git.branch", ["rev-parse", "--abbrev-ref", "HEAD"]),
                          ("mlflow.source.git.repoURL", ["config", "--get", "remote.origin.url"])):
            out = _git(args)
            if out and out != "HEAD":
                tags[tag] = out
    return tags


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry (containers)
        return "unknown"


def _git(args) -> str:
    try:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True,
                              timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def log_dataset_input(c, run_id: str, dataset, pipeline: str, size: int) -> None:
    """Record the data set as the run's ``training`` dataset input, digest = its content hash."""
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.data.sources import LocalArtifactDatasetSource
    from mlflow.entities import DatasetInput, InputTag
    ds = MetaDataset(LocalArtifactDatasetSource(str(dataset.root)), name=dataset.name,
                     digest=dataset.hash[:36])  # MLflow caps a digest at 36 characters
    tags = [InputTag("mlflow.data.context", "training"), InputTag("mitogan.pipeline", pipeline),
            InputTag("mitogan.size", str(size))]
    c.log_inputs(run_id, datasets=[DatasetInput(ds._to_mlflow_entity(), tags)])


def start_system_metrics(c, run_id: str, interval_s: float = 10):
    """MLflow's system-metrics monitor on ``run_id`` (CPU, memory, disk; GPU with nvidia-ml-py),
    or ``None`` when psutil (extra ``system-metrics``) is not installed. ``.finish()`` stops it."""
    if importlib.util.find_spec("psutil") is None:
        return None
    from mlflow.system_metrics.system_metrics_monitor import SystemMetricsMonitor
    logging.getLogger("mlflow.system_metrics").setLevel(logging.WARNING)  # start/stop chatter
    monitor = SystemMetricsMonitor(run_id, sampling_interval=interval_s, tracking_uri=c.tracking_uri)
    monitor.start()
    return monitor
