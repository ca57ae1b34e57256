"""``mitogan preprocess``: a data set through a pipeline → the cached training tensor."""
from __future__ import annotations

import time

from bench.choices import OPS, listed


def _run(args) -> int:
    from preprocessing.dataset import Dataset
    from preprocessing.pipeline import SHEET, Pipeline, prepare

    ds = Dataset.load(args.dataset, args.workspace)
    pipe = Pipeline.parse(args.pipeline)
    t0 = time.perf_counter()
    prep = prepare(ds, pipe, args.size, args.workspace)
    took = time.perf_counter() - t0
    state = "cache hit" if prep.cache_hit else "computed"
    print(f"{state}: {pipe.canonical()}")
    print(f"  {len(prep.x)} samples of {args.size}x{args.size} px from {len(set(prep.movie_ids))} "
          f"movies in {took:.2f} s → {prep.path}/x.npy (key {prep.key})")
    print(f"  contact sheet: {prep.path / SHEET}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("preprocess", help="run a preprocessing pipeline (cached)")
    p.add_argument("--dataset", required=True)
    p.add_argument("--pipeline", required=True,
                   help="e.g. 'register|normalize(p_low=1,p_high=99.8)|nlm(h=8)|laplacian'; "
                        f"ops: {listed(OPS)}")
    p.add_argument("--size", type=int, default=64, help="training size in px")
    p.set_defaults(func=_run)
