"""``mitogan data import|list|show|simulate``: data sets in the workspace."""
from __future__ import annotations

from pathlib import Path

from bench.commands import optional_file


def _import(args) -> int:
    from preprocessing.ingest import import_dataset
    from preprocessing.physical import parse_positive
    ds = import_dataset(args.paths, args.name, args.workspace, rois=args.roi, channel=args.channel,
                        z=args.z, frames=args.frames, intensity_range=args.intensity_range,
                        overwrite=args.overwrite,
                        pixel_size_um=parse_positive(args.pixel_size_um, "--pixel-size-um"),
                        frame_interval_s=parse_positive(args.frame_interval_s, "--frame-interval-s"))
    px, dt = ds.manifest.get("pixel_size_um"), ds.manifest.get("frame_interval_s")
    print(f"imported {ds.name}: {ds.n_frames} frames in {len(ds.movies)} movies, "
          f"hash {ds.hash[:12]}, pixel {f'{px:.4g} µm' if px else 'size unknown'}, "
          f"frame interval {f'{dt:.4g} s' if dt else 'unknown'} → {ds.root}")
    return 0


def _list(args) -> int:
    from rich.console import Console
    from rich.table import Table
    from preprocessing.dataset import list_datasets
    table = Table("name", "frames", "movies", "frame shape", "source dtype", "hash")
    for ds in list_datasets(args.workspace):
        shapes = sorted({"x".join(map(str, m["shape"])) for m in ds.movies})
        dtypes = sorted({m["source_dtype"] for m in ds.movies})
        table.add_row(ds.name, str(ds.n_frames), str(len(ds.movies)), ", ".join(shapes),
                      ", ".join(dtypes), ds.hash[:12])
    Console().print(table)
    return 0


def _show(args) -> int:
    from rich.console import Console
    from rich.table import Table
    from preprocessing.contact import dataset_sheet
    from preprocessing.dataset import Dataset
    ds = Dataset.load(args.name, args.workspace)
    table = Table("movie", "frames", "shape (Y, X)", "source dtype", "pixel µm", "interval s",
                  "roi", "source", title=f"{ds.name}: {ds.n_frames} frames, hash {ds.hash}")
    unit = lambda v: f"{v:.4g}" if v else "?"  # noqa: E731
    for m in ds.movies:
        table.add_row(m["id"], str(m["n_frames"]), str(tuple(m["shape"])), m["source_dtype"],
                      unit(m.get("pixel_size_um")), unit(m.get("frame_interval_s")),
                      str(m["roi"]), m["source"])
    Console(width=160).print(table)
    inten = ds.manifest["intensity"]
    print(f"intensity mapping: {inten['spec']} → [{inten['low']:g}, {inten['high']:g}] maps to [0, 1]")
    sheet = Path(args.out) if args.out else ds.root / "contact.png"
    if args.out or not sheet.is_file():  # a data set never changes: its sheet is written once
        sheet = optional_file(lambda: dataset_sheet(ds, sheet))
    print(f"contact sheet: {sheet}")
    return 0


def register(sub) -> None:
    data = sub.add_parser("data", help="import, list and inspect data sets")
    dsub = data.add_subparsers(dest="data_command", required=True)

    p = dsub.add_parser("import", help="movies/stacks/image folders → a data set")
    p.add_argument("paths", nargs="+", help="TIFF/OME-TIFF/LSM/STK, GIF, AVI/MP4, folders of images; "
                   "CZI, ND2, LIF, DV, OME-Zarr with the formats extra")
    p.add_argument("--name", required=True)
    p.add_argument("--roi", action="append", metavar="x0,y0,x1,y1",
                   help="crop (px); repeat for several ROIs, each a movie of its own")
    p.add_argument("--channel", type=int, default=None, help="channel index to keep")
    p.add_argument("--z", choices=["slices", "max", "mean"], default="max",
                   help="z-stacks: one frame per slice, or a projection (default max)")
    p.add_argument("--frames", default=None, metavar="a:b[:step]",
                   help="time points to keep, a python slice (1::2: every other frame from 1)")
    p.add_argument("--intensity-range", default="auto",
                   help="auto | pLOW,pHIGH (percentiles) | LOW,HIGH (source values) → [0, 1]")
    p.add_argument("--pixel-size-um", default=None, metavar="UM",
                   help="pixel size in µm (default: from the files' OME/ImageJ/vendor metadata)")
    p.add_argument("--frame-interval-s", default=None, metavar="S",
                   help="time between frames in s (default: from the files' metadata)")
    p.add_argument("--overwrite", action="store_true")
    p.set_defaults(func=_import)

    p = dsub.add_parser("list", help="data sets in the workspace")
    p.set_defaults(func=_list)

    p = dsub.add_parser("show", help="one data set's movies and a contact sheet")
    p.add_argument("name")
    p.add_argument("--out", default=None, help="contact sheet PNG (default: in the data set)")
    p.set_defaults(func=_show)

    from preprocessing.simulator.cli import add_parser
    add_parser(dsub)
