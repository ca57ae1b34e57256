"""``mitogan train``: one GAN variant on one preprocessed data set → one MLflow run.

Exit codes: 0 FINISHED, 3 FAILED (diverged; reason in the run's ``failure_reason`` tag),
130 KILLED (interrupted; continue with ``--resume RUN_ID``), 2 bad input.
"""
from __future__ import annotations

import json
import sys

from bench.choices import GAN_VARIANTS, OPS, listed
from bench.errors import MitoError, redact

EXIT = {"FINISHED": 0, "FAILED": 3, "KILLED": 130}
# CLI flag → TrainConfig field, for the flags that map one to one
FIELDS = ("dataset", "pipeline", "gan", "size", "steps", "seed", "batch", "latent_dim", "width",
          "lr_g", "lr_d", "n_critic", "device", "experiment", "threads", "workers", "amp",
          "max_seconds", "output")


def _kv(text: str) -> tuple[str, object]:
    if "=" not in text:
        raise MitoError("--set", f"expected key=value, got {text!r}")
    key, raw = text.split("=", 1)
    try:
        return key.strip(), json.loads(raw)
    except json.JSONDecodeError:
        return key.strip(), raw


def build_config(args):
    """The ``TrainConfig`` the flags describe, resolved (``MitoError`` for invalid values)."""
    from pydantic import ValidationError
    from bench.config import TrainConfig
    fields = {k: getattr(args, k) for k in FIELDS if getattr(args, k) is not None}
    fields.update(dict(_kv(t) for t in args.set or []))
    if args.gan_option:
        fields["gan_options"] = dict(_kv(t) for t in args.gan_option)
    for flag in ("diffaug", "ada", "ema", "compile", "channels_last"):
        if getattr(args, flag):
            fields[flag] = True
    if "dataset" not in fields:
        raise MitoError("--dataset", "required (unless --resume RUN_ID)")
    try:
        return TrainConfig(**fields).resolved()
    except ValidationError as err:
        first = err.errors()[0]
        raise MitoError(f"--{'-'.join(map(str, first['loc'])) or 'config'}", first["msg"]) from None


def _run(args) -> int:
    from bench.train import train
    from bench.tracking import resolve_tracking_uri
    uri = resolve_tracking_uri(args.tracking_uri)
    cfg = None if args.resume else build_config(args)
    if args.dry_run:
        if cfg is None:
            raise MitoError("--dry-run", "prints a new run's config; it does not combine with --resume")
        print(json.dumps({**cfg.model_dump(), "tracking_uri": redact(uri)}, indent=1))
        return 0
    try:
        res = train(cfg, workspace=args.workspace, tracking_uri=uri, resume_run_id=args.resume)
    except KeyboardInterrupt as err:
        rid = getattr(err, "run_id", None)
        print(f"interrupted ({err or 'SIGINT'}): run {rid or '(not started)'} ended KILLED with its "
              f"last checkpoint; continue with: mitogan train --resume {rid or 'RUN_ID'}",
              file=sys.stderr)
        return EXIT["KILLED"]
    line = f"run {res.run_id} {res.status} after {res.steps_done} steps ({redact(uri)})"
    if res.failure_reason:
        line += f": {res.failure_reason}"
    print(line, file=sys.stderr if res.status != "FINISHED" else sys.stdout)
    return EXIT[res.status]


def register(sub) -> None:
    p = sub.add_parser("train", help="train one GAN variant (one MLflow run)",
                       description=__doc__)
    p.add_argument("--dataset", help="imported data set name")
    p.add_argument("--pipeline", help="preprocessing spec, e.g. 'register|normalize|resize'; "
                   f"ops: {listed(OPS)}")
    p.add_argument("--gan", help=f"GAN variant: {listed(GAN_VARIANTS)} (default dcgan)")
    p.add_argument("--size", type=int, help="training size in px: 32, 64 or 128 (default 64)")
    p.add_argument("--steps", type=int, help="generator updates (default 2000)")
    p.add_argument("--seed", type=int, help="seed of weights, latents, batches, split (default 0)")
    p.add_argument("--batch", type=int, help="batch size (default 64)")
    p.add_argument("--latent-dim", dest="latent_dim", type=int)
    p.add_argument("--width", type=int, help="base channel width of G and D (default 64)")
    p.add_argument("--lr-g", dest="lr_g", type=float, help="default: the variant's")
    p.add_argument("--lr-d", dest="lr_d", type=float, help="default: the variant's")
    p.add_argument("--n-critic", dest="n_critic", type=int, help="default: the variant's")
    p.add_argument("--seconds", dest="max_seconds", type=float,
                   help="training budget in seconds of training steps (--steps is then the cap)")
    p.add_argument("--diffaug", action="store_true", help="DiffAugment on every D input")
    p.add_argument("--ada", action="store_true",
                   help="adaptive augmentation probability (ADA), with any variant")
    p.add_argument("--output", help="generator output layer: tanh or fluorescence (exact-zero "
                   "background, as percentile-clipped frames have; default tanh)")
    p.add_argument("--ema", action="store_true", help="keep an EMA of the generator weights")
    p.add_argument("--device", help="auto | cpu | cuda (default auto)")
    p.add_argument("--threads", type=int,
                   help="torch intra-op threads (default: usable cores / --workers)")
    p.add_argument("--workers", type=int,
                   help="trainings sharing these cores (default $MITOGAN_WORKERS, else 1)")
    p.add_argument("--amp", help="mixed precision: bf16 (CUDA or CPU), fp16 (CUDA, loss-scaled) "
                   "or off (default); penalties stay fp32")
    p.add_argument("--compile", action="store_true", help="torch.compile G and D (slow first steps)")
    p.add_argument("--channels-last", dest="channels_last", action="store_true",
                   help="NHWC memory format for the networks and data")
    p.add_argument("--experiment", help="MLflow experiment (default mitogan)")
    p.add_argument("--tracking-uri", dest="tracking_uri",
                   help="default $MLFLOW_TRACKING_URI or sqlite:///./mlruns/mlflow.db")
    p.add_argument("--gan-option", dest="gan_option", action="append", metavar="KEY=VALUE",
                   help="variant option, e.g. gp_lambda=5 (repeatable)")
    p.add_argument("--set", action="append", metavar="KEY=VALUE",
                   help="any other TrainConfig field, e.g. sample_every=200 (repeatable)")
    p.add_argument("--resume", metavar="RUN_ID", help="continue that run from its last checkpoint")
    p.add_argument("--dry-run", dest="dry_run", action="store_true",
                   help="print the resolved config and exit")
    p.set_defaults(func=_run)
