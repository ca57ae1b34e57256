"""What the report sections read of a study: its trials as a table, their runs and artifacts.

Filled from MLflow by :func:`bench.jobs.study_data.collect`; the sections only read it.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd


@dataclass
class StudyData:
    """Everything the report sections read.

    ``trials``: one row per trial (columns ``trial, run_id, state, reason, cell`` + the grid
    ``axes`` + every final metric of the run); ``objectives``: ``[(metric, direction), ...]``;
    ``runs``: run id → MLflow run; ``client``: the MLflow client the artifacts come through.
    """
    name: str
    tracking_uri: str
    experiment_id: str
    parent: object | None
    trials: pd.DataFrame
    runs: dict
    objectives: list[tuple[str, str]]
    axes: tuple[str, ...] = ()          # the grid axes (run params) in grid order
    searched: list[str] = field(default_factory=list)  # searched hyperparameters (run params)
    client: object = field(repr=False, default=None)
    _tmp: tempfile.TemporaryDirectory = field(repr=False, default=None)

    def complete(self) -> pd.DataFrame:
        return self.trials[self.trials["state"] == "complete"]

    def ranked(self) -> pd.DataFrame:
        """Complete trials the protocol ranks, best first (:func:`analysis.report.board.ranked`):
        non-copiers before copiers, collapsed last within each, then by ``heldout_gap``; non-intensity pipelines and trials
        without a verdict are not ranked."""
        from analysis.report.board import ranked
        return ranked(self.trials)

    def history(self, run_id: str, key: str) -> list[tuple[int, float]]:
        """A metric's history ``[(step, value), ...]`` of one run, ordered by step."""
        h = self.client.get_metric_history(run_id, key)
        return sorted((m.step, m.value) for m in h)

    def artifacts(self, run_id: str, path: str = "", depth: int = 3) -> list[str]:
        """Artifact paths (files) of a run below ``path``, ``depth`` folders deep."""
        out = []
        for info in self.client.list_artifacts(run_id, path or None):
            if info.is_dir:
                if depth > 0:
                    out += self.artifacts(run_id, info.path, depth - 1)
            else:
                out.append(info.path)
        return out

    def download(self, run_id: str, path: str) -> Path:
        """Download one artifact into a temp folder that lives as long as this object."""
        if self._tmp is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="mitogan-report-")
        dst = Path(self._tmp.name) / run_id
        dst.mkdir(exist_ok=True)
        return Path(self.client.download_artifacts(run_id, path, str(dst)))
