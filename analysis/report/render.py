"""Render a study's sections: one self-contained HTML page, a Markdown summary and the files
the sections carry (tables as CSV, figures as PNG): three renderings of the same sections."""
from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
import pandas as pd

from analysis.report import imagery, records, tables, verdict  # noqa: F401 - importing registers the sections
from analysis.report.sections import Section
from analysis.report.study import StudyData
from analysis.markdown import md_code, md_text
from bench.errors import redact
from bench.workspace import atomic_write

HERE = Path(__file__).resolve().parent


@dataclass
class ReportResult:
    """Where the page, the summary and the sections' files went and what each section became."""
    html: Path
    markdown: Path
    sections: list[Section]
    n_trials: int
    files: list[Path] = field(default_factory=list)
    logged_to: str | None = None


def _atomic_write(path: Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def render_html(study: StudyData, sections: list[Section]) -> str:
    """The page: ``template.html`` with ``report.js`` inlined; images are already data URIs."""
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), autoescape=True,
                             undefined=jinja2.StrictUndefined)
    return env.get_template("template.html").render(
        study=study.name, tracking_uri=redact(study.tracking_uri), n_trials=len(study.trials),
        parent_id=study.parent.info.run_id if study.parent is not None else None,
        generated=datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        sections=sections, script=(HERE / "report.js").read_text())


def render_markdown(study: StudyData, sections: list[Section]) -> str:
    """The summary: counts, best trial vs floor, top five of the leaderboard, the other
    sections' tables, and what was not available."""
    by = {s.name: s for s in sections}
    lines = [f"# MitoGAN study {md_code(study.name)}", ""]
    vd = by.get("verdict")
    if vd and vd.data:
        lines += ["## Verdict", "", *[f"- {md_text(s['text'])}" for s in vd.data["sentences"]], ""]
    ov = by.get("overview")
    if ov and ov.data:
        counts = ", ".join(f"{c} {s}" for s, c in ov.data["counts"].items())
        lines += [f"{ov.data['n']} trials ({counts}); scored against held-out movies, floors at the "
                  "same N, 95% intervals over movies; ranked by `heldout_gap` (gap to the own floor "
                  "in floor SDs), non-copiers first, intensity pipelines only.", ""]
        best = ov.data["best"]
        if best:
            settings = ", ".join(f"{k} {md_code(v)}" for k, v in best["settings"].items())
            lines += [f"**Best trial {best['label']}** (run `{best['run_id']}`): {settings}. "
                      f"Verdict: **{md_text(best['verdict'])}**."]
            lines += [f"- {m} = {c['text']} (floor {c['floor'] or '–'}{', ' + c['gap'] if c['gap'] else ''})"
                      for m, c in best["metrics"]]
            lines.append("")
    lb = by.get("leaderboard")
    board = lb.data["table"] if lb and lb.data else pd.DataFrame()
    top = board[board["state"] == "complete"].head(5) if len(board) else board
    if len(top):
        cols = [c["name"] for c in lb.data["columns"][:4]]
        lines += [md_text(lb.data["budget"]), "", "Top complete trials (all of them in `leaderboard.csv`):", "",
                  "| rank | trial | variant | pipeline | verdict | " + " | ".join(cols) + " |",
                  "|---" * (5 + len(cols)) + "|"]
        for _, r in top.iterrows():
            rank = "–" if pd.isna(r.get("rank")) else str(int(r["rank"]))
            lines.append(f"| {rank} | {tables.trial_label(r)} | {md_text(tables.variant_label(r))} | "
                         f"{md_code(r.get('pipeline', ''))} | {md_text(r.get('verdict', ''))} | "
                         + " | ".join(tables.metric_cell(r, c)["text"] for c in cols) + " |")
        lines.append("")
    for s in sections:  # the sections' own tables (the leaderboard is in leaderboard.csv)
        if s.data and s.name != "leaderboard" and isinstance(s.data.get("table"), pd.DataFrame):
            lines += [f"## {md_text(s.title)}", "", markdown_table(s.data["table"]), ""]
    if by.get("pareto") and by["pareto"].data:
        lines += ["![Pareto front](pareto.png)", ""]
    missing = [f"- {s.title}: {md_text(s.missing)}" for s in sections if s.missing]
    if missing:
        lines += ["Not available in this report:", *missing, ""]
    return "\n".join(lines)


def markdown_table(df: pd.DataFrame) -> str:
    if df.empty:
        return "_none_"
    cells = df.astype(object).where(df.notna(), "").map(
        lambda v: f"{v:.4g}" if isinstance(v, float) else md_text(v))
    head = "| " + " | ".join(map(md_text, df.columns)) + " |\n|" + "---|" * len(df.columns)
    return head + "".join("\n| " + " | ".join(r) + " |" for r in cells.to_numpy().tolist())


def write_files(sections: list[Section], out: Path) -> list[Path]:
    """The files the sections carry: a ``DataFrame`` as CSV, bytes as they are."""
    paths = []
    for s in sections:
        for name, content in ((s.data or {}).get("files") or {}).items():
            path = out / name
            if isinstance(content, pd.DataFrame):
                _atomic_write(path, content.to_csv(index=False))
            else:
                atomic_write(path, lambda tmp, b=content: tmp.write_bytes(b))
            paths.append(path)
    return paths


def write_report(study: StudyData, sections: list[Section], out: Path) -> ReportResult:
    """``<out>/report.html``, ``<out>/summary.md`` and the sections' files (written first)."""
    out.mkdir(parents=True, exist_ok=True)
    files = write_files(sections, out)
    res = ReportResult(out / "report.html", out / "summary.md", sections, len(study.trials), files)
    _atomic_write(res.html, render_html(study, sections))
    _atomic_write(res.markdown, render_markdown(study, sections))
    return res
