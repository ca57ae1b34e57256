"""Read a study out of MLflow into :class:`~analysis.report.study.StudyData`: its parent run,
one row per trial, the objectives, grid axes and searched hyperparameters.

A study ``NAME`` is the MLflow experiment ``study-NAME`` (or ``NAME``); its parent run is the
newest run without ``mlflow.parentRunId``; its trials are that run's child runs, read through
the tags the study writes (``bench.study.trial``, ``bench.study.runs``, ``bench.train``).
"""
from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path

import pandas as pd

from analysis.report.study import StudyData
from bench import tracking
from bench.errors import MitoError, redact
from bench.study.config import DEFAULT_OBJECTIVES, GRID_AXES

# column -> the tag it is read from
_TAGS = {"trial": "mitogan.trial", "cell": "mitogan.cell", "state": "mitogan.state",
         "reason": "failure_reason"}
_STATES = {"COMPLETE": "complete", "PRUNED": "pruned", "FAIL": "failed", "FAILED": "failed",
           "KILLED": "pruned", "FINISHED": "complete", "RUNNING": "running",
           "SCHEDULED": "running"}


def _tag(run, column: str) -> str | None:
    """The run's tag behind ``column`` (see ``_TAGS``); ``None`` when absent or empty."""
    return run.data.tags.get(_TAGS[column]) or None


def _state(run) -> tuple[str, str]:
    reason = _tag(run, "reason") or ""
    raw = (_tag(run, "state") or run.info.status).upper()
    state = _STATES.get(raw, raw.lower())
    if state == "complete" and run.info.status == "FAILED":
        state = "failed"
    if state == "pruned" and reason and not reason.startswith("pruned"):
        state = "failed"                  # KILLED by an interrupt, not by the pruner
    return state, reason


def _objectives(parent) -> list[tuple[str, str]]:
    """Objectives from the parent run's param ``objectives`` (``metric:direction,...``), else
    the study default: common-space morphology distance, coverage."""
    found = []
    for item in (parent.data.params.get("objectives", "") if parent is not None else "").split(","):
        metric, _, direction = item.strip().partition(":")
        if direction in ("minimize", "maximize"):
            found.append((metric, direction))
    return found or [(o["metric"], o["direction"]) for o in DEFAULT_OBJECTIVES]


def _searched(client, parent) -> list[str]:
    """Searched hyperparameter names from the parent run's ``study.json``, if logged."""
    if parent is None:
        return []
    try:
        with tempfile.TemporaryDirectory(prefix="mitogan-report-") as tmp:
            doc = json.loads(Path(client.download_artifacts(parent.info.run_id, "study.json", tmp)).read_text())
        return list(doc.get("search", {}).get("params", {}))
    except Exception:  # noqa: BLE001 - no study.json: grid parameters only
        return []


def _number(v) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def collect(study: str, tracking_uri: str | None = None) -> StudyData:
    """Load a study's trials from MLflow; a missing study is a one-line ``MitoError``."""
    uri = tracking.resolve_tracking_uri(tracking_uri)
    client = tracking.client(uri)
    exp = client.get_experiment_by_name(f"study-{study}") or client.get_experiment_by_name(study)
    if exp is None:
        raise MitoError(f"--study {study}", f"no MLflow experiment 'study-{study}' at {redact(uri)}")
    runs = {r.info.run_id: r for r in client.search_runs([exp.experiment_id], max_results=50000)}
    parents = ([r for r in runs.values() if r.data.tags.get("mitogan.role") == "study"]
               or [r for r in runs.values() if "mlflow.parentRunId" not in r.data.tags])
    parent = max(parents, key=lambda r: r.info.start_time) if parents else None
    children = [r for r in runs.values()
                if parent is not None and r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    latest = {}                        # a re-queued trial has several runs: report its newest
    for r in sorted(children, key=lambda r: r.info.start_time):
        latest[_tag(r, "trial") or r.info.run_id] = r
    rows = []
    for r in latest.values():
        state, reason = _state(r)
        row = {"trial": _number(_tag(r, "trial")), "run_id": r.info.run_id,
               "state": state, "reason": reason, "cell": _tag(r, "cell") or "",
               **{p: r.data.params.get(p, "") for p in GRID_AXES}}
        row.update({k: v for k, v in r.data.metrics.items() if _number(v) is not None})
        rows.append(row)
    trials = pd.DataFrame(rows, columns=None if rows else ["trial", "run_id", "state", "reason",
                                                            "cell", *GRID_AXES])
    if len(trials):
        trials = trials.sort_values(["trial", "run_id"], na_position="last").reset_index(drop=True)
    return StudyData(study, uri, exp.experiment_id, parent, trials, runs, _objectives(parent),
                     axes=GRID_AXES, searched=_searched(client, parent), client=client)
