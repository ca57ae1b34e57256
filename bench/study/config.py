"""The study file: a YAML validated by pydantic, and the grid of cells it describes.

A *cell* is one point of the grid ``data set × pipeline × GAN variant × DiffAugment × ADA ×
generator output × replicate seed``; with ``search.trials_per_cell = K`` each cell is run K times, the
hyperparameters of those K trials being proposed by TPE from the cell's own earlier trials.
Every cell × search slot is one Optuna trial and one MLflow child run.
"""
from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bench.errors import MitoError
from models.outputs import OUTPUTS

# The default objective (the Rules of the science): the mean worse-side gap of the generator to its
# own floor, in floor SDs, over the headline metrics, scored against held-out movies
# (``analysis.protocol.flat.OBJECTIVE``): 0 = as good as new movies of the same population, a
# number comparable across pipelines because each is in units of its own floor's spread.
DEFAULT_OBJECTIVES = [{"metric": "heldout_gap", "direction": "minimize"}]
# The grid axes, in grid order: Optuna parameter names, MLflow run params, report columns.
GRID_AXES = ("dataset", "pipeline", "gan", "diffaug", "ada", "output", "seed")
# Axes added after studies existed, with the value every older study had: a cell at that value
# keeps its old id and grid hash, so a study started before they existed still resumes.
LATER_AXES = {"ada": False, "output": "tanh"}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DataSource(_Strict):
    """Files a study imports its data set from (``mitogan data import``'s options): ``paths``
    relative to the study file; each ``roi`` (``x0,y0,x1,y1``) of each path becomes a movie."""
    paths: list[str] = Field(min_length=1)
    roi: list[str] = []
    frames: str | None = None
    channel: int | None = None
    z: Literal["max", "mean", "slices"] = "max"
    intensity_range: str = "auto"


class DatasetSpec(_Strict):
    """A data set by name, created when missing: by the simulator (``simulate``) or imported
    from files (``source``). Neither enters the grid hash: runs record their data set's hash."""
    name: str
    simulate: dict | None = None
    source: DataSource | None = None

    @model_validator(mode="after")
    def _one_origin(self):
        if self.simulate is not None and self.source is not None:
            raise ValueError("give simulate or source, not both")
        return self


class Objective(_Strict):
    metric: str
    direction: Literal["minimize", "maximize"]


class Range(_Strict):
    """A hyperparameter range searched by TPE: floats/ints between low and high, or choices."""
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: list | None = None

    @model_validator(mode="after")
    def _check(self):
        if self.choices is None and (self.low is None or self.high is None or self.low >= self.high):
            raise ValueError("give low < high, or choices")
        if self.log and self.choices is None and self.low <= 0:
            raise ValueError("log ranges need low > 0")
        return self


class Search(_Strict):
    trials_per_cell: int = Field(1, ge=1)
    n_startup_trials: int = Field(2, ge=1)
    params: dict[str, Range] = {}


class Budget(_Strict):
    """Training per trial: ``steps`` (generator updates), ``seconds`` (of training steps, the
    equal-compute budget: grids, checkpoints and scoring not counted), or both (whichever ends
    first). With ``seconds`` alone, trials run as many steps as their variant fits in the time."""
    steps: int | None = Field(None, ge=1)
    seconds: float | None = Field(None, gt=0)
    size: int = Field(32, ge=8)
    batch: int = Field(32, ge=1)
    n_eval_samples: int | None = None      # samples drawn by evaluate_run (None: its default)


    @model_validator(mode="after")
    def _some_budget(self):
        if self.steps is None and self.seconds is None:
            raise ValueError("give steps, seconds, or both")
        return self


class Pruning(_Strict):
    enabled: bool = False
    every: int = Field(50, ge=1)           # an intermediate score every k training steps
    n_samples: int = Field(64, ge=8)       # generated frames per intermediate score
    n_startup_trials: int = Field(2, ge=0)
    n_warmup_steps: int = Field(0, ge=0)


class Finish(_Strict):
    """What the study runs for its best trial (rank 1 of the protocol's ranking) once every cell
    is done, before the report; each step is skipped when the run already has its outputs, so a
    rerun resumes. ``generate_ratio``: synthetic frames per real training frame."""
    explain: bool = True
    explain_frames: int = Field(32, ge=4)
    judge: bool = True
    generate: bool = True
    generate_ratio: int = Field(50, ge=1)


class StudyConfig(_Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    datasets: list[DatasetSpec] = Field(min_length=1)
    pipelines: list[str] = Field(min_length=1)
    gans: list[str] = Field(min_length=1)
    diffaug: list[bool] = [False]
    ada: list[bool] = [False]              # adaptive augmentation probability (any variant)
    output: list[Literal[OUTPUTS]] = ["tanh"]  # generator output layers (models/outputs.py)
    seeds: list[int] = Field([0], min_length=1)
    search: Search = Search()
    budget: Budget
    train: dict = {}                       # extra TrainConfig fields (ema, width, lr_g, ...)
    objectives: list[Objective] = Field([Objective(**o) for o in DEFAULT_OBJECTIVES], min_length=1)
    pruning: Pruning = Pruning()
    finish: Finish = Finish()
    storage: str | None = None
    tracking_uri: str | None = None
    workers: int = Field(1, ge=1)

    @field_validator("datasets", mode="before")
    @classmethod
    def _names(cls, v):
        return [{"name": d} if isinstance(d, str) else d for d in v]

    @field_validator("pipelines", "gans", "seeds", "diffaug", "ada", "output")
    @classmethod
    def _unique(cls, v):
        if len(set(map(str, v))) != len(v):
            raise ValueError("duplicate entries")
        return v

    @model_validator(mode="after")
    def _pruning_single_objective(self):
        if self.pruning.enabled and len(self.objectives) > 1:
            raise ValueError("pruning needs a single objective: Optuna does not prune "
                             "multi-objective studies (keep one objective or disable pruning)")
        if self.pruning.enabled and self.objectives[0].direction != "minimize":
            raise ValueError("pruning reports the morphology distance to held-out frames (lower "
                             "is better): the objective must be minimized")
        clash = set(self.search.params) & set(GRID_AXES)
        if clash:
            raise ValueError(f"search.params may not redefine grid axes: {sorted(clash)}")
        return self

    @property
    def directions(self) -> list[str]:
        return [o.direction for o in self.objectives]

    @property
    def experiment(self) -> str:
        return f"study-{self.name}"


@dataclass(frozen=True)
class Cell:
    """One grid point × search slot; ``id`` is stable across runs and machines."""
    dataset: str
    pipeline: str
    gan: str
    diffaug: bool
    ada: bool
    output: str
    seed: int
    slot: int

    @property
    def id(self) -> str:
        later = {k for k, v in LATER_AXES.items() if getattr(self, k) == v}  # see LATER_AXES
        blob = json.dumps([v for k, v in self.params().items() if k not in later])
        tag = hashlib.sha1(blob.encode()).hexdigest()[:8]
        marks = "".join(m for m, on in (("+da", self.diffaug), ("+ada", self.ada),
                                        ("+fl", self.output == "fluorescence")) if on)
        return f"{self.gan}{marks}-s{self.seed}-{tag}-k{self.slot}"

    def params(self) -> dict:
        """The cell's grid point, ``{axis: value}`` in ``GRID_AXES`` order."""
        return {axis: getattr(self, axis) for axis in GRID_AXES}


def cells(cfg: StudyConfig) -> list[Cell]:
    """Every cell of the grid in a fixed order (``GRID_AXES``, then the search slot)."""
    return [Cell(d.name, p, g, a, ada, o, s, k) for d, p, g, a, ada, o, s, k in itertools.product(
        cfg.datasets, cfg.pipelines, cfg.gans, cfg.diffaug, cfg.ada, cfg.output, cfg.seeds,
        range(cfg.search.trials_per_cell))]


def grid_hash(cfg: StudyConfig) -> str:
    """What must not change when a study is resumed: the grid, budget, search space, objectives."""
    keys = ("pipelines", "gans", "diffaug", "seeds", "search", "budget", "train", "objectives",
            "pruning", *LATER_AXES)
    blob = cfg.model_dump(include={"datasets": {"__all__": {"name", "simulate"}},
                                   **dict.fromkeys(keys, True)})
    for axis, old in LATER_AXES.items():  # see LATER_AXES: older studies keep their hash
        if blob[axis] == [old]:
            del blob[axis]
    if blob["budget"]["seconds"] is None:
        del blob["budget"]["seconds"]
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:16]


def load_config(path: str | Path) -> StudyConfig:
    """Read and validate a study file; any problem is a one-line ``MitoError`` naming the key."""
    path = Path(path)
    if not path.is_file():
        raise MitoError(path, "study file not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise MitoError(path, f"not valid YAML: {str(err).splitlines()[0]}")
    if not isinstance(raw, dict):
        raise MitoError(path, "a study file is a YAML mapping (name:, datasets:, pipelines:, ...)")
    try:
        cfg = StudyConfig(**raw)
    except ValidationError as err:
        e = err.errors()[0]
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        raise MitoError(f"{path}: {key}", msg)
    for d in cfg.datasets:  # source paths are relative to the study file, wherever it is run from
        if d.source is not None:
            d.source.paths = [str((path.parent / p).resolve()) for p in d.source.paths]
    return cfg
