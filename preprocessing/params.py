"""Declared ranges of every op parameter, checked when a pipeline spec is parsed.

``Pipeline.parse`` (and so ``--dry-run``, ``mitogan study --dry-run`` and a study file's
validation) refuses a value outside its range with one line naming the op, the parameter and
the range, before any data is read: OpenCV would otherwise crash the process natively
(``clahe(tiles=0)``: SIGFPE), raise a ``cv2.error`` deep in a run, or silently do nonsense
(``nlm(h=-1)``, ``normalize(p_low=99,p_high=1)``).

Every parameter of every registered op has an entry here (a contract test checks it); a new op
adds its line to ``RANGES``. NaN fails every numeric range (comparisons with NaN are false).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from bench.errors import MitoError

MIN_SIZE, MAX_SIZE = 8, 4096  # training size (px) accepted by ``prepare``


@dataclass(frozen=True)
class Num:
    """A number in ``[ge, le]`` (``gt``/``lt`` for open ends); ``odd``: an odd integer."""
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    odd: bool = False

    def ok(self, v) -> bool:
        return (isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                and (self.ge is None or v >= self.ge) and (self.gt is None or v > self.gt)
                and (self.le is None or v <= self.le) and (self.lt is None or v < self.lt)
                and (not self.odd or (float(v).is_integer() and int(v) % 2 == 1)))

    def __str__(self) -> str:
        lo = f"{self.ge} <= " if self.ge is not None else f"{self.gt} < " if self.gt is not None else ""
        hi = f" <= {self.le}" if self.le is not None else f" < {self.lt}" if self.lt is not None else ""
        return f"{'odd, ' if self.odd else ''}{lo}value{hi}"


@dataclass(frozen=True)
class OneOf:
    """One of a few words."""
    choices: tuple

    def ok(self, v) -> bool:
        return v in self.choices

    def __str__(self) -> str:
        return "one of " + ", ".join(map(str, self.choices))


# op name -> {parameter: range}; every value OpenCV accepts and that means something
RANGES: dict[str, dict] = {
    "register": {"method": OneOf(("phase", "ecc")), "reference": OneOf(("first", "previous"))},
    "normalize": {"p_low": Num(ge=0, le=100), "p_high": Num(ge=0, le=100),
                  "scope": OneOf(("movie", "frame"))},
    "deoverlay": {"std_max": Num(gt=0, le=1), "min_value": Num(ge=0, le=1), "dilate_px": Num(ge=0, le=64)},
    "clahe": {"clip_limit": Num(gt=0, le=1000), "tiles": Num(ge=1, le=64)},
    "gaussian": {"sigma_px": Num(gt=0, le=100)},
    "nlm": {"h": Num(ge=0, le=255), "template_px": Num(ge=1, le=99, odd=True),
            "search_px": Num(ge=1, le=199, odd=True)},
    "laplacian": {"sigma_px": Num(ge=0, le=100), "ksize": Num(ge=1, le=31, odd=True),
                  "gain": Num(gt=0, le=1e6)},
    "otsu": {"mode": OneOf(("binary", "masked")), "sigma_px": Num(ge=0, le=100)},
    "resize": {"crop": OneOf(("center", "none"))},
    "tile": {"scale": Num(gt=0, le=16), "stride_px": Num(ge=0, le=MAX_SIZE), "min_fg": Num(ge=0, le=1)},
}
# op name -> [(test(params), what it requires)]: constraints between parameters
RELATIONS: dict[str, list] = {
    "normalize": [(lambda p: p["p_low"] < p["p_high"], "p_low < p_high")],
}


def check_params(op: str, params: dict) -> None:
    """Refuse ``params`` (resolved, every key present) outside ``RANGES[op]`` / ``RELATIONS[op]``."""
    ranges = RANGES.get(op)
    if ranges is None:
        raise MitoError(f"op {op}", "declares no parameter ranges (add it to preprocessing.params.RANGES)")
    for key, value in params.items():
        rng = ranges.get(key)
        if rng is None:
            raise MitoError(f"op {op}", f"parameter {key} has no declared range")
        if not rng.ok(value):
            raise MitoError(f"op {op}", f"{key}={value!r} is out of range (need {rng})")
    for test, need in RELATIONS.get(op, []):
        if not test(params):
            raise MitoError(f"op {op}", f"need {need}, got " + ", ".join(f"{k}={v!r}" for k, v in params.items()))


def check_size(size) -> int:
    """The training size in px, refused outside ``[MIN_SIZE, MAX_SIZE]``."""
    if isinstance(size, bool) or not isinstance(size, int) or not MIN_SIZE <= size <= MAX_SIZE:
        raise MitoError("--size", f"{size!r} px: need an integer in {MIN_SIZE}..{MAX_SIZE}")
    return size
