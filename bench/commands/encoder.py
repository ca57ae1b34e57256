"""``mitogan encoder train|info``: build and inspect the ``mito-ssl`` feature extractor."""
from __future__ import annotations

import json
from pathlib import Path

from bench.workspace import workspace_dir


def _train(args) -> int:
    from analysis.extractors.build import build_ssl_weights
    from analysis.extractors.mito_ssl import WEIGHTS

    args.out = args.out or str(WEIGHTS)

    info = build_ssl_weights(args.dataset, Path(args.out), workspace=workspace_dir(args.workspace),
                             pipeline=args.pipeline, size=args.size, steps=args.steps, seed=args.seed,
                             batch=args.batch, width=args.width, label_key=args.label_key)
    print(json.dumps(info, indent=2))
    print(f"wrote {args.out} ({Path(args.out).stat().st_size / 1e6:.2f} MB, sha256 {info['sha256'][:16]}…)")
    return 0


def _info(args) -> int:
    from analysis.extractors.base import file_sha256
    from analysis.extractors.mito_ssl import default_weights, load_encoder
    path = Path(args.weights or default_weights())
    enc = load_encoder(path)
    side = path.with_suffix(".json")
    print(f"mito-ssl weights {path} sha256 {file_sha256(path)}")
    print(f"architecture: SSLEncoder(size={enc.size}, width={enc.width}), feature dim {enc.dim}")
    if side.is_file():
        print(side.read_text())
    return 0


def register(sub) -> None:
    p = sub.add_parser("encoder", help="train / inspect the mito-ssl feature extractor")
    s = p.add_subparsers(dest="encoder_cmd", required=True)
    t = s.add_parser("train", help="SimCLR-train mito-ssl on the training movies of data sets")
    t.add_argument("--dataset", action="append", required=True, help="data set name (repeatable)")
    t.add_argument("--pipeline", default="normalize")
    t.add_argument("--size", type=int, default=64)
    t.add_argument("--steps", type=int, default=800)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--batch", type=int, default=64)
    t.add_argument("--width", type=int, default=16)
    t.add_argument("--label-key", default="class", help="movie meta key for the linear probe")
    t.add_argument("--out", default=None,
                   help="weights file (default: the shipped models/weights/mito_ssl.pt)")
    t.set_defaults(func=_train)
    i = s.add_parser("info", help="print the weights hash and how they were trained")
    i.add_argument("--weights", default=None)
    i.set_defaults(func=_info)
