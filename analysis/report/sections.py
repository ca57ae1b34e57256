"""Report sections: a small ordered registry of builders that may say "not available".

A section builder is ``fn(ctx: ReportContext) -> dict`` (the variables its macro in
``template.html`` renders; under ``"files"`` the files it adds to the report folder, a
``DataFrame`` written as CSV or PNG bytes, and under ``"table"`` the table the Markdown summary
shows). When its inputs are absent it raises :class:`Missing` with a
one-line reason, and the page shows that line instead of the section — one absent input
(no attribution run, no judge, no extractor) never breaks the report.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from analysis.extractors import get_extractor
from analysis.report.study import StudyData
from bench.registry import Registry
from models.sampling import sample


class Missing(Exception):
    """A section's inputs are absent; the message is shown as one line in its place."""


class NotApplicable(Exception):
    """The section does not apply to this study (a Pareto front of one objective): left out."""


def _one_line(err: Exception, before: str = "", after: str = "") -> str:
    """``<before><ErrorType>: <message><after>``, cut to its first line and 300 characters."""
    return f"{before}{type(err).__name__}: {err}{after}".splitlines()[0][:300]


@dataclass
class Section:
    name: str
    title: str
    data: dict | None = None
    missing: str | None = None


@dataclass
class ReportContext:
    """The study plus lazily loaded generators, samples and real frames (CPU, fixed seeds).

    How a run is opened is given, not imported (the job that builds the report passes
    :mod:`bench.runs`): ``open_generator(run_id) -> (G, cfg)`` and ``real_frames(cfg) ->
    (train, heldout)`` arrays ``(N, 1, S, S)`` float32 [0, 1]; without them the sections that
    need frames say so.
    """
    study: StudyData
    workspace: Path | None
    seed: int = 0
    open_generator: Callable | None = None
    real_frames: Callable | None = None
    _cache: dict = field(default_factory=dict, repr=False)

    def memo(self, key, make):
        """``make()`` once per key; a failure is remembered as :class:`Missing` with its reason."""
        if key not in self._cache:
            try:
                self._cache[key] = (make(), None)
            except Missing as err:
                self._cache[key] = (None, str(err))
            except Exception as err:  # noqa: BLE001 - any failure of an input = "absent"
                self._cache[key] = (None, _one_line(err))
        value, why = self._cache[key]
        if why is not None:
            raise Missing(why)
        return value

    def trial_row(self, run_id: str):
        """The study's trial row of run ``run_id`` (the table is indexed by run id once)."""
        return self.memo("by_run", lambda: self.study.trials.set_index("run_id")).loc[run_id]

    def best(self) -> str:
        """Run id of the best trial: rank 1 of the protocol's ranking."""
        ranked = self.study.ranked()
        if not len(ranked):
            raise Missing("no ranked trial: none is complete with a verdict on an intensity pipeline")
        return ranked["run_id"].iloc[0]

    def generator(self, run_id: str):
        """``(G, TrainConfig)`` of a run."""
        def make():
            if self.open_generator is None:
                raise Missing("no run store given, generators unavailable")
            return self.open_generator(run_id)
        return self.memo(("G", run_id), make)

    def fake(self, run_id: str, n: int, offset: int = 0) -> np.ndarray:
        """``n`` generated frames of a run, (n, 1, S, S) float32 [0, 1], seed ``seed + offset``."""
        def make():
            G, _ = self.generator(run_id)
            return sample(G, n, seed=self.seed + offset)
        return self.memo(("fake", run_id, n, offset), make)

    def real(self, run_id: str):
        """The run's real frames through its own pipeline, split as training split them:
        ``(train, heldout)`` arrays (N, 1, S, S) float32 [0, 1]."""
        def make():
            if self.workspace is None or self.real_frames is None:
                raise Missing("no workspace given, real frames unavailable")
            _, cfg = self.generator(run_id)
            return self.real_frames(cfg)
        return self.memo(("real", run_id), make)

    def extractor(self):
        return self.memo("extractor", lambda: get_extractor("mito-ssl"))


# name -> (order, title, builder); pages show sections by ascending order
_SECTIONS: Registry[tuple[int, str, Callable[[ReportContext], dict]]] = Registry(
    "report section", "section", r"[a-z][a-z0-9_]*")


def register_section(name: str, title: str, order: int):
    """Decorator: add a section builder at position ``order``; names must be new identifiers."""
    def deco(fn):
        _SECTIONS.add(name, (order, title, fn))
        return fn
    return deco


def _ordered() -> list[tuple[str, tuple]]:
    return sorted(_SECTIONS.items(), key=lambda item: item[1][0])


def list_sections() -> list[str]:
    return [name for name, _ in _ordered()]


def build_sections(ctx: ReportContext) -> list[Section]:
    """Run every registered builder in order; failures become a one-line ``missing`` note."""
    out = []
    for name, (_, title, fn) in _ordered():
        try:
            out.append(Section(name, title, data=fn(ctx)))
        except NotApplicable:
            continue
        except Missing as err:
            out.append(Section(name, title, missing=str(err)))
        except Exception as err:  # noqa: BLE001 - an input in an unexpected form: say so, go on
            msg = _one_line(err, "could not be built (", ")")
            warnings.warn(f"report section {name}: {msg}", stacklevel=1)
            out.append(Section(name, title, missing=msg))
    return out
