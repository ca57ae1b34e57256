"""Study reports: one self-contained HTML page, a Markdown summary and CSV/PNG files per study,
all renderings of the same sections.

Each registered section (:mod:`.sections`; builders in :mod:`.tables`, :mod:`.imagery` and
:mod:`.records`, tables computed in :mod:`.board`) reads a :class:`~.study.StudyData`; a section
whose inputs are absent shows one line saying so. :mod:`.render` writes the files. Reading the
study out of MLflow and opening its runs is the job :func:`bench.jobs.report.build_report`.
"""
from analysis.report.render import ReportResult, write_report
from analysis.report.sections import Missing, ReportContext, list_sections, register_section

__all__ = ["Missing", "ReportContext", "ReportResult", "list_sections", "register_section",
           "write_report"]
