"""Study reports: one self-contained HTML page (+ Markdown summary) per study.

``build_report(study, out, tracking_uri=..., workspace=...)`` reads the study's runs from MLflow
(:mod:`analysis.report.collect`), builds each registered section (:mod:`.sections`; builders in
:mod:`.tables` and :mod:`.imagery`) and renders ``template.html``. A section whose inputs are
absent shows one line saying so.
"""
from analysis.report.render import ReportResult, build_report
from analysis.report.sections import Missing, ReportContext, list_sections, register_section

__all__ = ["Missing", "ReportContext", "ReportResult", "build_report", "list_sections",
           "register_section"]
