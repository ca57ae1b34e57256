"""``mitogan compare-sets REAL FAKE``: every metric of FAKE against REAL, with real-vs-real floors."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.choices import EXTRACTORS, listed
from bench.workspace import atomic_write, workspace_dir


def _run(args) -> int:
    from analysis.metrics.sets import load_set
    from analysis.metrics.suite import compare_arrays, format_table
    from analysis.extractors import absent_notice, available_extractors, get_extractor
    from preprocessing.physical import mismatch, morphology_um

    if "inception-v3-compat" not in available_extractors():
        print(absent_notice(), file=sys.stderr)  # standard FID skipped: say so, never download
    ws = workspace_dir(args.workspace)
    real = load_set(args.real, workspace=ws, pipeline=args.pipeline, size=args.size)
    fake = load_set(args.fake, workspace=ws, pipeline=args.pipeline, size=args.size)
    msg = mismatch(list(_pixel_sizes(args, ws).items()))
    if msg:
        print(f"warning: {msg}", file=sys.stderr)
    kw = {"weights": args.inception_weights} if args.extractor == "inception-v3-compat" else {}
    ex = get_extractor(args.extractor, **kw)
    tables: dict = {}
    result = compare_arrays(real.x, fake.x, real_movie_ids=real.movie_ids, extractor=ex, workspace=ws,
                            real_key=real.key, fake_key=fake.key, seed=args.seed,
                            morphology_metrics=not args.no_morphology, out_tables=tables)
    pixel = _pixel_sizes(args, ws)
    for side, spec in (("real", args.real), ("fake", args.fake)):  # µm where the pixel size is known
        px = pixel.get(spec) or pixel.get(args.real)  # generated frames: the real frames' grid
        result.update({f"{side}_{k}_median": v for k, v in morphology_um(tables.get(side), px).items()})
        result[f"pixel_size_um_{side}"] = px
    result.update(real=args.real, fake=args.fake, pipeline=args.pipeline, size=args.size)
    print(format_table(result, f"{args.fake} vs {args.real}"))
    if args.json:
        out = Path(args.json)
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(out, lambda tmp: tmp.write_text(json.dumps(result, indent=2)))
        print(f"wrote {out}")
    return 0


def _pixel_sizes(args, ws) -> dict:
    """``{spec: pixel size (µm) of its frames at --size}`` for the sides that are data sets."""
    from bench.errors import MitoError
    from preprocessing.dataset import Dataset
    from preprocessing.physical import training_pixel_size_um
    out = {}
    for spec in (args.real, args.fake):
        try:
            out[spec] = training_pixel_size_um(Dataset.load(spec, ws), args.pipeline, args.size)
        except MitoError:  # a folder of images: no pixel size
            pass
    return out


def register(sub) -> None:
    p = sub.add_parser("compare-sets", help="score FAKE frames against REAL frames, with floors")
    p.add_argument("real", help="data set name or folder of images")
    p.add_argument("fake", help="data set name or folder of images")
    p.add_argument("--json", default=None, help="write the result here")
    p.add_argument("--pipeline", default="normalize", help="pipeline for data set names")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--extractor", default="mito-ssl",
                   help=f"feature extractor: {listed(EXTRACTORS)}")
    p.add_argument("--inception-weights", default=None, help="local InceptionV3 weights file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--no-morphology", action="store_true", help="skip morph_fd / wd_* (faster)")
    p.set_defaults(func=_run)
