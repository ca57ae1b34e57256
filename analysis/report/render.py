"""Render a study's sections into one self-contained HTML page and a Markdown summary."""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

import jinja2

from analysis.report import imagery, tables  # noqa: F401 - importing registers the sections
from analysis.report.collect import StudyData, collect
from analysis.report.sections import ReportContext, Section, build_sections
from bench.workspace import atomic_write

HERE = Path(__file__).resolve().parent


@dataclass
class ReportResult:
    """Where the page and summary went and what each section became."""
    html: Path
    markdown: Path
    sections: list[Section]
    n_trials: int
    logged_to: str | None = None


def _atomic_write(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def render_html(study: StudyData, sections: list[Section]) -> str:
    """The page: ``template.html`` with ``report.js`` inlined; images are already data URIs."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("template.html").render(
        study=study.name, tracking_uri=study.tracking_uri, n_trials=len(study.trials),
        parent_id=study.parent.info.run_id if study.parent is not None else None,
        generated=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        sections=sections, script=(HERE / "report.js").read_text())


def render_markdown(study: StudyData, sections: list[Section]) -> str:
    """A short summary: counts, best trial vs floor, top five, and what was not available."""
    by = {s.name: s for s in sections}
    lines = [f"# MitoGAN study `{study.name}`", ""]
    ov = by.get("overview")
    if ov and ov.data:
        counts = ", ".join(f"{c} {s}" for s, c in ov.data["counts"].items())
        lines += [f"{ov.data['n']} trials ({counts}); ranked by "
                  + " then ".join(f"`{m}` ({d})" for m, d in ov.data["objectives"]) + ".", ""]
        best = ov.data["best"]
        if best:
            settings = ", ".join(f"{k} `{v}`" for k, v in best["settings"].items())
            lines += [f"**Best trial {best['label']}** (run `{best['run_id']}`): {settings}."]
            lines += [f"- {m} = {v} (real-vs-real floor {f})" for m, v, f in best["metrics"]]
            lines.append("")
    ranked = study.ranked()
    if len(ranked):
        cols = tables.metric_columns(ranked, study.objectives)[:4]
        lines += ["Top complete trials:", "",
                  "| trial | gan | pipeline | " + " | ".join(cols) + " |",
                  "|---" * (3 + len(cols)) + "|"]
        for _, r in ranked.head(5).iterrows():
            pipe = str(r.get("pipeline", "")).replace("|", "\\|")    # a table cell may not hold |
            lines.append(f"| {tables.trial_label(r)} | {r.get('gan', '')} | `{pipe}` | "
                         + " | ".join(tables.fmt(r.get(c)) for c in cols) + " |")
        lines.append("")
    missing = [f"- {s.title}: {s.missing}" for s in sections if s.missing]
    if missing:
        lines += ["Not available in this report:", *missing, ""]
    return "\n".join(lines)


def build_report(study: str, out: str | Path | None = None, *, tracking_uri: str | None = None,
                 workspace: str | Path | None = None, log: bool = True,
                 seed: int = 0) -> ReportResult:
    """Build ``<out>/report.html`` and ``<out>/summary.md`` for study ``study``.

    Parameters
    ----------
    study : str
        Study name (MLflow experiment ``study-<name>``).
    out : path, optional
        Output folder, default ``reports/<study>``.
    workspace : path, optional
        Workspace with the data sets; without it sections needing real frames say so.
    log : bool
        Also log both files as artifacts (``report/``) of the study's parent run.
    seed : int
        Seed of the sampled frames and of the quiz shuffle.
    """
    data = collect(study, tracking_uri)
    sections = build_sections(ReportContext(data, Path(workspace) if workspace else None, seed))
    out = Path(out or Path("reports") / study)
    out.mkdir(parents=True, exist_ok=True)
    res = ReportResult(out / "report.html", out / "summary.md", sections, len(data.trials))
    _atomic_write(res.html, render_html(data, sections))
    _atomic_write(res.markdown, render_markdown(data, sections))
    if log and data.parent is not None:
        for f in (res.html, res.markdown):
            data.client.log_artifact(data.parent.info.run_id, str(f), artifact_path="report")
        res.logged_to = data.parent.info.run_id
    return res
