"""Physical units of a movie: pixel size (µm) and frame interval (s), from the file or the user.

Sources, first found wins: the user's ``--pixel-size-um`` / ``--frame-interval-s``; OME-XML
(``PhysicalSizeX`` + unit, ``TimeIncrement`` + unit); ImageJ (``XResolution`` in px per
``unit``, ``finterval``); Zeiss LSM (``VoxelSizeX`` in m, ``TimeIntervall``); bioio's
``physical_pixel_sizes`` / ``time_interval``. Unknown stays ``None``: never a guessed 1.0.
"""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

TOLERANCE = 0.10  # pixel sizes further apart than this (relative) are different objectives
_LENGTH_UM = {"um": 1.0, "µm": 1.0, "\\u00b5m": 1.0, "micron": 1.0, "microns": 1.0,
              "micrometer": 1.0, "nm": 1e-3, "mm": 1e3, "cm": 1e4, "m": 1e6, "Å": 1e-4, "pm": 1e-6}
_TIME_S = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "µs": 1e-6, "us": 1e-6, "min": 60.0, "h": 3600.0}


def length_um(value, unit: str | None) -> float | None:
    """``value`` in ``unit`` → µm; ``None`` when either is missing, non-positive or unknown."""
    factor = _LENGTH_UM.get((unit or "").strip().replace("\u03bc", "µ"))
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v * factor if factor and v > 0 else None


def time_s(value, unit: str | None = "s") -> float | None:
    factor = _TIME_S.get((unit or "s").strip())
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v * factor if factor and v > 0 else None


def tiff_units(tif, series: int) -> tuple[float | None, float | None]:
    """``(pixel_size_um, frame_interval_s)`` of series ``series`` of an open ``TiffFile``."""
    if tif.is_ome and tif.ome_metadata:
        try:
            images = [e for e in ET.fromstring(tif.ome_metadata) if e.tag.endswith("}Image")]
        except ET.ParseError:
            images = []
        if series < len(images):
            px = next((e for e in images[series] if e.tag.endswith("}Pixels")), None)
            if px is not None:
                return (length_um(px.get("PhysicalSizeX"), px.get("PhysicalSizeXUnit", "µm")),
                        time_s(px.get("TimeIncrement"), px.get("TimeIncrementUnit", "s")))
    if tif.is_lsm:
        md = tif.lsm_metadata or {}
        return length_um(md.get("VoxelSizeX"), "m"), time_s(md.get("TimeIntervall"))
    page = tif.series[series].keyframe
    if tif.is_imagej:
        md = tif.imagej_metadata or {}
        tag = page.tags.get("XResolution")
        px = None
        if tag is not None and md.get("unit"):
            num, den = tag.value
            px = length_um(den / num, md["unit"]) if num else None
        return px, time_s(md.get("finterval"))
    return None, None


def mismatch(named: list[tuple[str, float | None]], what: str = "pixel sizes") -> str | None:
    """A warning naming the items when the known values differ by more than ``TOLERANCE``."""
    known = [(n, v) for n, v in named if v]
    if len(known) < 2:
        return None
    lo, hi = min(v for _, v in known), max(v for _, v in known)
    if hi <= lo * (1 + TOLERANCE):
        return None
    listed = ", ".join(f"{n} ({v:.4g} µm)" for n, v in known)
    return (f"{what} differ by more than {TOLERANCE:.0%} ({hi / lo:.2f}x): {listed}; "
            "movies from different objectives or binnings are being mixed")


def effective_pixel_size_um(pixel_size_um: float | None, shape_yx, pipeline: str,
                            size: int) -> float | None:
    """Pixel size of the training frames: ``resize`` centre-crops to the short side and
    resamples to ``size``; ``tile(scale=s)`` resamples by ``s``; other ops keep the grid."""
    if not pixel_size_um:
        return None
    from preprocessing.pipeline import Pipeline
    px = float(pixel_size_um)
    for name, params in Pipeline.parse(pipeline).steps:
        if name == "resize":
            if params.get("crop", "center") != "center" and shape_yx[0] != shape_yx[1]:
                return None  # stretched to a square: no single pixel size any more
            px *= min(shape_yx) / size
        elif name == "tile":
            px /= float(params.get("scale", 1))
    return px


def parse_positive(text: str | None, option: str) -> float | None:
    """``--pixel-size-um`` / ``--frame-interval-s`` → a positive float (``MitoError`` otherwise)."""
    from bench.errors import MitoError
    if text is None:
        return None
    try:
        v = float(text)
    except ValueError:
        v = float("nan")
    if not v > 0 or not re.fullmatch(r"[0-9.eE+-]+", str(text)):
        raise MitoError(option, f"expected a positive number, got {text!r}")
    return v


def _movie_name(reader) -> str:
    return reader.path.name + (f"[{reader.label}]" if reader.label else "")


def set_units(readers, pixel_size_um: float | None, frame_interval_s: float | None) -> None:
    """Apply the user's units to every reader (they beat the file's, which is said when the two
    disagree), then warn when the movies' pixel sizes differ by more than ``TOLERANCE``."""
    import sys
    for r in readers:
        for attr, given in (("pixel_size_um", pixel_size_um), ("frame_interval_s", frame_interval_s)):
            own = getattr(r, attr)
            if given is not None:
                if own and abs(own - given) > TOLERANCE * given:
                    r.notices.add(f"{_movie_name(r)}: the file says {attr} = {own:.4g}; "
                                  f"using the given {given:.4g}")
                setattr(r, attr, float(given))
    msg = mismatch([(_movie_name(r), r.pixel_size_um) for r in readers])
    if msg:
        print(f"warning: {msg}", file=sys.stderr)


def dataset_units(readers) -> dict:
    """The data set's ``pixel_size_um`` / ``frame_interval_s``: the median over the movies that
    have one (``None`` when none has)."""
    import statistics
    out = {}
    for attr in ("pixel_size_um", "frame_interval_s"):
        known = [getattr(r, attr) for r in readers if getattr(r, attr)]
        out[attr] = float(statistics.median(known)) if known else None
    return out


def training_pixel_size_um(dataset, pipeline: str, size: int) -> float | None:
    """Pixel size of ``dataset``'s frames after ``pipeline`` at ``size`` (median over movies)."""
    import statistics
    sizes = [effective_pixel_size_um(m.get("pixel_size_um"), m["shape"], pipeline, size)
             for m in dataset.movies]
    known = [v for v in sizes if v]
    return float(statistics.median(known)) if known else None


# morphology columns in pixels → their physical name and the power of the pixel size they scale by
PHYSICAL_COLUMNS = {"area_px": ("area_um2", 2), "branch_length_px": ("branch_length_um", 1),
                    "tubule_width_px": ("tubule_width_um", 1)}


def morphology_um(table, pixel_size_um: float | None) -> dict[str, float]:
    """Medians of a morphology table's length/area features in µm / µm² (empty when unknown)."""
    if not pixel_size_um or table is None:
        return {}
    return {name: float(table[col].median() * pixel_size_um ** power)
            for col, (name, power) in PHYSICAL_COLUMNS.items() if col in table}
