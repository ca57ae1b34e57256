"""``mitogan data simulate``: simulated movies with ground truth, optionally imported as a data set."""
from __future__ import annotations

import json
from pathlib import Path

from bench.errors import MitoError
from bench.workspace import datasets_dir, workspace_dir
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pydantic model building costs ~0.1 s: not at `mitogan --help` time
    from preprocessing.simulator.params import SimParams


def parse_classes(text: str | None) -> dict[str, float] | None:
    """``"tubular=0.4,fragmented=0.6"`` → ``{"tubular": 0.4, "fragmented": 0.6}``."""
    if not text:
        return None
    out = {}
    for item in text.split(","):
        name, _, share = item.partition("=")
        try:
            out[name.strip()] = float(share)
        except ValueError:
            raise MitoError("--classes", f"expected NAME=SHARE[,NAME=SHARE...], got {item!r}") from None
    return out


def parse_size(text: str) -> tuple[int, int]:
    try:
        parts = [int(v) for v in text.split(",")]
    except ValueError:
        parts = []
    if len(parts) not in (1, 2):
        raise MitoError("--size", f"expected H,W (or one number for a square) in px, got {text!r}")
    return (parts[0], parts[-1])


def parse_params(items: list[str] | None) -> SimParams:
    """``["pixel_size_um=0.1", "branch_length_um=[2,8]"]`` (values as JSON) → SimParams."""
    from preprocessing.simulator.params import SimParams
    overrides = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise MitoError("--param", f"expected NAME=VALUE, got {item!r}")
        try:
            overrides[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            raise MitoError("--param", f"value of {key!r} is not a number or JSON list: {value!r}") from None
    return SimParams.from_overrides(overrides)


def simulate_dataset(workspace, name: str, *, movies: int, frames: int, size_yx, seed: int,
                     classes: dict[str, float] | None = None, params: SimParams | dict | None = None,
                     do_import: bool = True, overwrite: bool = False, out=None, progress: bool = True):
    """Simulate ``movies`` into ``out`` (default ``<workspace>/simulated/<name>``) and, with
    ``do_import``, import them as data set ``name`` (movie metadata: class, ground-truth files,
    seed, pixel size, frame interval). Returns the :class:`~preprocessing.dataset.Dataset`, or
    the TIFF paths when not imported."""
    from preprocessing.simulator.core import allocate_classes, gt_paths, simulate
    from preprocessing.simulator.params import SimParams
    ws = workspace_dir(workspace)
    out = Path(out) if out else ws / "simulated" / name
    params = params if isinstance(params, SimParams) else SimParams.from_overrides(params)
    if do_import and (datasets_dir(ws) / name).exists() and not overwrite:
        raise MitoError(datasets_dir(ws) / name, "data set already exists (use --overwrite to replace it)")
    labels = allocate_classes(classes, movies, seed)
    paths = simulate(out, movies=movies, frames=frames, size_yx=size_yx, seed=seed, classes=classes,
                     params=params, progress=progress)
    counts = {c: labels.count(c) for c in sorted(set(labels))}
    print(f"simulated {len(paths)} movies x {frames} frames ({counts}) → {out}")
    if not do_import:
        return paths
    from preprocessing.ingest import import_dataset
    meta = [dict(simulated=True, **{"class": c}, ground_truth=str(gt_json), ground_truth_arrays=str(gt_npz),
                 seed=seed, movie_index=i, pixel_size_um=params.pixel_size_um,
                 frame_interval_s=params.frame_interval_s)
            for i, (p, c) in enumerate(zip(paths, labels)) for gt_json, gt_npz in [gt_paths(p)]]
    ds = import_dataset([str(p) for p in paths], name, ws, movie_meta=meta, overwrite=overwrite)
    print(f"imported {ds.name}: {ds.n_frames} frames in {len(ds.movies)} movies, hash {ds.hash[:12]}")
    return ds


def run(args) -> int:
    simulate_dataset(args.workspace, args.name, movies=args.movies, frames=args.frames,
                     size_yx=parse_size(args.size), seed=args.seed, classes=parse_classes(args.classes),
                     params=parse_params(args.param), do_import=args.do_import,
                     overwrite=args.overwrite, out=args.out)
    return 0


def add_parser(data_subparsers) -> None:
    """Add ``simulate`` to the ``mitogan data`` sub-commands."""
    p = data_subparsers.add_parser("simulate", help="simulated mitochondria movies with ground truth")
    p.add_argument("--name", required=True, help="data set / output folder name")
    p.add_argument("--movies", type=int, default=4)
    p.add_argument("--frames", type=int, default=100)
    p.add_argument("--size", default="256,256", metavar="H,W", help="frame size in px")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--classes", default=None, metavar="NAME=SHARE,...",
                   help="morphology classes and shares over movies, e.g. tubular=0.4,fragmented=0.3,"
                        "pearled=0.3 (default: all classes equally)")
    p.add_argument("--param", action="append", metavar="NAME=VALUE",
                   help="override a SimParams field (repeatable), e.g. pixel_size_um=0.1")
    p.add_argument("--import", dest="do_import", action="store_true", help="also import as data set NAME")
    p.add_argument("--overwrite", action="store_true", help="replace an existing data set NAME")
    p.add_argument("--out", default=None, help="output folder (default <workspace>/simulated/NAME)")
    p.set_defaults(func=run)
