"""Sections built from run records alone: loss curves and provenance."""
from __future__ import annotations

import json

from analysis.report import figures
from analysis.report.sections import Missing, ReportContext, register_section
from analysis.report.tables import trial_label, variant_label


def is_diverged(reason: str) -> bool:
    """Whether a failure reason is a divergence (``bench.train``: non-finite losses or a
    saturated discriminator), not an interrupt or an error."""
    r = reason.lower()
    return any(w in r for w in ("diverg", "non-finite", "saturated"))


@register_section("losses", "Loss curves", 50)
def losses(ctx: ReportContext) -> dict:
    st = ctx.study
    keys = sorted({k for r in st.runs.values() for k in r.data.metrics if k.startswith("loss")})
    if not keys or not len(st.trials):
        raise Missing("no loss_* metrics logged by the trial runs")
    panels: dict = {}
    for _, row in st.trials.iterrows():
        curves = {k: st.history(row["run_id"], k) for k in keys}
        panels.setdefault((row.get("pipeline", ""), variant_label(row)), []).append(
            (trial_label(row), curves, is_diverged(row.get("reason") or "")))
    return {"img": figures.loss_grid(panels, keys), "keys": keys}


@register_section("provenance", "Provenance", 110)
def provenance(ctx: ReportContext) -> dict:
    st = ctx.study
    items: dict[str, set] = {}

    def add(key, value):
        if value not in (None, ""):
            items.setdefault(key, set()).add(str(value))
    for r in st.runs.values():
        for k, v in {**r.data.params, **r.data.tags}.items():
            lk = k.lower()
            if ("hash" in lk or "extractor" in lk or "git" in lk or lk in ("python", "platform")
                    or lk.startswith(("prov.", "version."))):
                add(k, v)
        for p in ("dataset", "pipeline", "gan"):
            add(f"{p}s used", r.data.params.get(p))
    for rid in st.complete()["run_id"]:      # the feature extractor named by `evaluate`
        try:
            doc = json.loads(st.download(rid, "evaluation/evaluation.json").read_text())
        except Exception:  # noqa: BLE001 - a run evaluated by an older version: nothing to add
            continue
        add("extractor (evaluate)", doc.get("extractor"))
        add("extractor weights sha256", doc.get("extractor_weights_sha256"))
    if not items:
        raise Missing("no provenance parameters or tags logged")
    return {"rows": sorted((k, ", ".join(sorted(v))) for k, v in items.items())}
