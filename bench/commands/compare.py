"""``mitogan compare-sets TRAIN FAKE [--heldout HELDOUT]``: score FAKE frames without a model.

With ``--heldout``: the protocol of :mod:`analysis.protocol` — FAKE against the held-out movies,
next to the floor (TRAIN against the same held-out movies at the same N), 95% intervals over
movies, and the verdicts (copying TRAIN, collapsed, within the floor per metric). Without it:
the two-set comparison of :func:`analysis.metrics.suite.compare_arrays` (FAKE against TRAIN,
real-vs-real floors), which cannot tell copying from learning, and says so.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

from bench.choices import EXTRACTORS, listed
from bench.errors import MitoError
from bench.workspace import atomic_write, workspace_dir

NO_HELDOUT = ("no memorisation verdict possible without --heldout: FAKE is compared with TRAIN "
              "itself, so a copy of TRAIN scores best")
MIN_BOOT = 10  # fewer replicates give no usable 2.5-97.5% range
MIN_FRAMES = 2  # a covariance (FID) and an unbiased KID need two frames a side


def _check(args) -> None:
    """Settings refused before any frame is read."""
    if args.n_boot is not None and args.n_boot < MIN_BOOT:
        raise MitoError("--n-boot", f"must be at least {MIN_BOOT}, got {args.n_boot}")
    if args.n_boot is not None and args.heldout is None:
        raise MitoError("--n-boot", "intervals over movies need --heldout")
    if args.heldout is not None and Path(args.heldout).resolve() == Path(args.train).resolve():
        raise MitoError("--heldout", "is TRAIN itself: held-out movies must be movies the generator never saw")


def _protocol(args, ws, ex, train, fake) -> dict:
    from analysis.metrics.sets import load_set
    from analysis.protocol.roles import make_role
    from analysis.protocol.score import Protocol
    from analysis.protocol.text import format_result

    held = load_set(args.heldout, workspace=ws, pipeline=args.pipeline, size=args.size)
    for spec, s in ((args.train, train), (args.heldout, held), (args.fake, fake)):
        if len(s.x) < MIN_FRAMES:
            raise MitoError(spec, f"{len(s.x)} frame(s): the protocol needs at least {MIN_FRAMES} per set")
    roles = [make_role(name, s.x, s.movie_ids) for name, s in
             (("TRAIN", train), ("--heldout", held), ("FAKE", fake))]
    kw = {} if args.n_boot is None else {"n_boot": args.n_boot}
    res = Protocol(roles[0], roles[1], extractor=ex, workspace=ws, seed=args.seed,
                   morphology=not args.no_morphology, **kw).score(roles[2])
    res["n"]["samples"]["movies"] = roles[2].n_units  # sub-folders of FAKE (a lone image: its own)
    res.update(train=args.train, heldout=args.heldout, fake=args.fake)
    print(format_result(res, f"{args.fake} vs held-out {args.heldout} (floor: {args.train})"))
    return res


def _run(args) -> int:
    from analysis.metrics.sets import load_set
    from analysis.metrics.suite import compare_arrays, format_table
    from analysis.extractors import absent_notice, available_extractors, get_extractor
    from preprocessing.physical import mismatch, morphology_um

    _check(args)
    if "inception-v3-compat" not in available_extractors():
        print(absent_notice(), file=sys.stderr)  # standard FID skipped: say so, never download
    ws = workspace_dir(args.workspace)
    kw = {"weights": args.inception_weights} if args.extractor == "inception-v3-compat" else {}
    ex = get_extractor(args.extractor, **kw)
    real = load_set(args.train, workspace=ws, pipeline=args.pipeline, size=args.size)
    fake = load_set(args.fake, workspace=ws, pipeline=args.pipeline, size=args.size)
    pixel = _pixel_sizes(args, ws)
    msg = mismatch(list(pixel.items()))
    if msg:
        print(f"warning: {msg}", file=sys.stderr)
    if args.heldout is not None:
        result = _protocol(args, ws, ex, real, fake)
    else:
        tables: dict = {}
        result = compare_arrays(real.x, fake.x, real_movie_ids=real.movie_ids, extractor=ex, workspace=ws,
                                real_key=real.key, fake_key=fake.key, seed=args.seed,
                                morphology_metrics=not args.no_morphology, out_tables=tables)
        for side, spec in (("real", args.train), ("fake", args.fake)):  # µm where the pixel size is known
            px = pixel.get(spec) or pixel.get(args.train)  # generated frames: the real frames' grid
            result.update({f"{side}_{k}_median": v for k, v in morphology_um(tables.get(side), px).items()})
            result[f"pixel_size_um_{side}"] = px
        result.update(real=args.train, fake=args.fake,
                      verdict={"possible": False, "reason": NO_HELDOUT, "copying": None, "collapsed": None,
                               "within_floor": {}})
        print(format_table(result, f"{args.fake} vs {args.train}"))
        print(NO_HELDOUT)
    result.update(pipeline=args.pipeline, size=args.size)
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
    for spec in (args.train, args.fake):
        try:
            out[spec] = training_pixel_size_um(Dataset.load(spec, ws), args.pipeline, args.size)
        except MitoError:  # a folder of images: no pixel size
            pass
    return out


def register(sub) -> None:
    p = sub.add_parser("compare-sets", help="score FAKE frames against held-out movies (or TRAIN), with floors")
    p.add_argument("train", metavar="TRAIN", help="data set name or folder of images (sub-folders are movies): "
                   "the frames a generator learned from")
    p.add_argument("fake", metavar="FAKE", help="data set name or folder of images: the samples to score")
    p.add_argument("--heldout", default=None, metavar="HELDOUT",
                   help="data set name or folder of real movies never trained on: the reference, "
                   "with floor, intervals over movies and copying/collapse verdicts")
    p.add_argument("--json", default=None, help="write the result here")
    p.add_argument("--pipeline", default="normalize", help="pipeline for data set names")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--extractor", default="mito-ssl",
                   help=f"feature extractor: {listed(EXTRACTORS)}")
    p.add_argument("--inception-weights", default=None, help="local InceptionV3 weights file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-boot", type=int, default=None,
                   help="bootstrap replicates over movies (with --heldout; default the protocol's 200)")
    p.add_argument("--no-morphology", action="store_true", help="skip morph_fd / wd_* (faster)")
    p.set_defaults(func=_run)
