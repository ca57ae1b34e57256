"""``mitogan generate``: a synthetic data set from a trained run, streamed to disk."""
from __future__ import annotations

from pathlib import Path

from bench.errors import MitoError


def _run(args) -> int:
    from bench.jobs.generate import generate_run
    from bench.workspace import workspace_dir

    ws = workspace_dir(args.workspace)
    out = generate_run(args.run, Path(args.out), n=args.n, workspace=ws, tracking_uri=args.tracking_uri,
                       fmt=args.format, seed=args.seed, batch=args.batch, dedupe=args.dedupe,
                       dedupe_quantile=args.dedupe_quantile, vendi_n=args.vendi_n)
    res, notes = out["result"], out["notes"]
    if args.dedupe:
        print(f"dedupe threshold {out['threshold']:.4g} = {args.dedupe_quantile:.0%} quantile of "
              f"held-out→train nearest-neighbour distances")
    print(f"wrote {res.count} frames ({args.format}, uint16) of {res.n_requested} → {res.out}"
          + (f" (resumed: {res.resumed_chunks} chunks were already done)" if res.resumed_chunks else ""))
    if args.dedupe:
        print(f"  dropped {res.dropped_duplicates} near-duplicates and "
              f"{res.dropped_train_copies} near-copies of training frames")
        if res.count < res.n_requested / 2:
            notes.append("more than half of the frames were dropped: the generator collapsed "
                         "or reproduces its training frames (compare the distinct counts); "
                         "--dedupe-quantile sets how close counts as the same frame")
    if res.vendi is not None and out["real"]:
        print(f"  effectively distinct frames (Vendi, {out['extractor']} features standardised "
              f"by the real frames): generated {res.vendi:.1f} of {res.vendi_n}; real "
              f"{out['real'][0]:.1f} of {out['real'][1]}")
    if args.ome_tiff:
        _write_stack(args, out["cfg"], ws, res)
    for note in notes + res.notes:
        print(f"  note: {note}")
    return 0


def _write_stack(args, cfg, ws, res) -> None:
    """``<out>/synthetic.ome.tif``: every kept frame in one stack, at the training pixel size."""
    from analysis.ome_stack import write_ome_stack
    from preprocessing.dataset import Dataset
    from preprocessing.physical import training_pixel_size_um
    try:
        px = training_pixel_size_um(Dataset.load(cfg.dataset, ws), cfg.pipeline, cfg.size)
    except MitoError:
        px = None  # the data set is gone: the stack still has its frames
    files = sorted(Path(res.out).glob(f"frame_*.{args.format}"))
    stack = write_ome_stack(files, Path(res.out) / "synthetic.ome.tif", px)
    print(f"  OME-TIFF stack: {stack} ({len(files)} frames, pixel "
          + (f"{px:.4g} µm, the training frames')" if px else "size unknown: the data set has none)"))


def register(sub) -> None:
    p = sub.add_parser("generate", help="write N synthetic frames of a trained run to disk")
    p.add_argument("--run", required=True, help="MLflow run id of a training run")
    p.add_argument("--n", type=int, default=30000, help="number of frames")
    p.add_argument("--out", required=True, help="destination folder (must not exist)")
    p.add_argument("--format", choices=["png", "tiff"], default="png", help="16-bit output")
    p.add_argument("--dedupe", action="store_true",
                   help="drop near-duplicates and near-copies of training frames")
    p.add_argument("--dedupe-quantile", type=float, default=0.01,
                   help="threshold = this quantile of real held-out→train NN distances")
    p.add_argument("--ome-tiff", action="store_true",
                   help="also write one OME-TIFF stack (TYX) with the training data's pixel size")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch", type=int, default=256, help="frames generated per chunk")
    p.add_argument("--vendi-n", type=int, default=1000, help="subsample size for Vendi")
    p.add_argument("--tracking-uri", default=None)
    p.set_defaults(func=_run)
