"""``build_report``: a study's report, read from MLflow, written to a folder and attached to the
study's parent run: ``report.html`` + ``summary.md`` under ``report/``, the sections' tables and
figures (``leaderboard.csv``, ``importance.csv``, ``seeds.csv``, ``pareto.png``) under ``study/``.
"""
from __future__ import annotations

from pathlib import Path

from analysis.report.render import ReportResult, write_report
from analysis.report.sections import ReportContext, build_sections
from bench.jobs.study_data import collect
from bench.runs import load_generator, run_split


def build_report(study: str, out: str | Path | None = None, *, tracking_uri: str | None = None,
                 workspace: str | Path | None = None, log: bool = True,
                 seed: int = 0) -> ReportResult:
    """Build the report of study ``study`` into ``out``.

    Parameters
    ----------
    study : str
        Study name (MLflow experiment ``study-<name>``).
    out : path, optional
        Output folder, default ``reports/<study>``.
    workspace : path, optional
        Workspace with the data sets; without it sections needing real frames say so.
    log : bool
        Also log the files as artifacts of the study's parent run.
    seed : int
        Seed of the sampled frames and of the quiz shuffle.
    """
    data = collect(study, tracking_uri)
    ws = Path(workspace) if workspace else None

    def real_frames(cfg):
        train, held = run_split(cfg, ws)
        return train.x, held.x

    ctx = ReportContext(data, ws, seed, open_generator=lambda rid: load_generator(
        rid, tracking_uri=data.tracking_uri), real_frames=real_frames)
    res = write_report(data, build_sections(ctx), Path(out or Path("reports") / study))
    if log and data.parent is not None:
        rid = data.parent.info.run_id
        for f in res.files:
            data.client.log_artifact(rid, str(f), artifact_path="study")
        for f in (res.html, res.markdown):
            data.client.log_artifact(rid, str(f), artifact_path="report")
        res.logged_to = rid
    return res
