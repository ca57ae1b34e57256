"""``mitogan generate``: a synthetic data set from a trained run, streamed to disk."""
from __future__ import annotations

from pathlib import Path

from bench.errors import MitoError


def _extractor():
    """The ``mito-ssl`` feature extractor, or ``(None, reason)`` when it cannot be built."""
    from analysis.extractors import get_extractor
    try:
        return get_extractor("mito-ssl"), ""
    except Exception as err:  # noqa: BLE001 - a missing/broken extractor only skips Vendi
        return None, f"mito-ssl unavailable ({err})"


def _real_frames(cfg, workspace):
    """The run's own training / held-out frames, (N, 1, S, S) float32 [0, 1], and the data hash."""
    from bench.runs import run_split
    from preprocessing.dataset import Dataset
    ds = Dataset.load(cfg.dataset, workspace)
    train, held = run_split(cfg, workspace, dataset=ds)
    return train.x, held.x, ds.hash


def _run(args) -> int:
    import numpy as np
    from analysis.export import chunk_seed, export_frames, nn_threshold
    from analysis.protocol.score import DistinctCount
    from bench.runs import load_generator
    from bench.workspace import workspace_dir
    from models.sampling import sample

    ws = workspace_dir(args.workspace)
    try:
        G, cfg = load_generator(args.run, tracking_uri=args.tracking_uri)
    except MitoError:
        raise
    except Exception as err:  # noqa: BLE001 - an unknown run id is bad input, not a crash
        raise MitoError(f"--run {args.run}", f"cannot load its generator ({err})")
    ext, why = _extractor()
    features = ext.features if ext is not None else None
    notes = [] if ext is not None else [f"no Vendi/dedupe features: {why}"]
    train_feats, thr, data_hash, vendi_real, distinct = None, None, None, None, None
    try:
        train_x, held_x, data_hash = _real_frames(cfg, ws)
    except Exception as err:  # noqa: BLE001 - without the real frames only the extras are lost
        train_x = held_x = None
        notes.append(f"real frames unavailable ({err}); no real reference")
    if args.dedupe:
        if features is None or train_x is None or held_x is None or not len(held_x):
            raise MitoError("--dedupe", "needs the mito-ssl extractor and the run's real "
                                        "train/held-out frames; " + "; ".join(notes))
        train_feats = features(train_x)
        thr = nn_threshold(train_feats, features(held_x), args.dedupe_quantile)
        print(f"dedupe threshold {thr:.4g} = {args.dedupe_quantile:.0%} quantile of held-out→train "
              f"nearest-neighbour distances ({len(held_x)} held-out, {len(train_x)} train frames)")
    n_count = min(args.vendi_n, args.n)
    if features is not None and train_x is not None:
        # one space and definition (the protocol's): standardised by all real frames of the run
        real = np.concatenate([train_x, held_x]) if held_x is not None and len(held_x) else train_x
        real_feats = features(real)
        distinct = DistinctCount(real_feats).count
        n_count = min(n_count, len(real))  # real and generated counted at the same N
        sub = np.random.default_rng(args.seed).permutation(len(real))[:n_count]
        vendi_real = (distinct(real_feats[sub]), n_count)

    def source(k: int, count: int) -> np.ndarray:
        # a fixed inner batch bounds activation memory whatever --batch is
        return sample(G, count, seed=chunk_seed(args.seed, k), batch=64)  # (count, 1, S, S)

    res = export_frames(source, args.n, Path(args.out), fmt=args.format, seed=args.seed,
                        batch=args.batch, features=features, dedupe_threshold=thr,
                        train_feats=train_feats, vendi_subsample=n_count, distinct=distinct,
                        identity={"run_id": args.run, "dataset_hash": data_hash,
                                  "extractor": getattr(ext, "name", None),
                                  "size": int(cfg.size)})
    print(f"wrote {res.count} frames ({args.format}, uint16) of {res.n_requested} → {res.out}"
          + (f" (resumed: {res.resumed_chunks} chunks were already done)" if res.resumed_chunks else ""))
    if args.dedupe:
        print(f"  dropped {res.dropped_duplicates} near-duplicates and "
              f"{res.dropped_train_copies} near-copies of training frames")
        if res.count < res.n_requested / 2:
            notes.append("more than half of the frames were dropped: the generator collapsed "
                         "or reproduces its training frames (compare the Vendi numbers); "
                         "--dedupe-quantile sets how close counts as the same frame")
    if res.vendi is not None:
        print(f"  effectively distinct frames (Vendi, {getattr(ext, 'name', '?')} features standardised "
              f"by the real frames): generated {res.vendi:.1f} of {res.vendi_n}; real "
              f"{vendi_real[0]:.1f} of {vendi_real[1]}")
    if args.ome_tiff:
        _write_stack(args, cfg, ws, res)
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
