"""GPU training speed: images/s of mitogan's trainer per precision option against a textbook
DCGAN loop on the same GPU, and the share of the device's dense peak it reaches.

    python -m bench.perf.train_gpu [--steps 100] [--warmup 20] [--batch 256] [--width 64]
                                   [--peak-tflops T] [--device cuda]

Baseline (same run, same device, same ``models.backbones`` networks): the PyTorch DCGAN
tutorial loop in float32 (``bench.perf.train.reference``): a ``DataLoader`` over CPU tensors,
``.to(device)`` per batch, ``BCEWithLogitsLoss`` with label tensors, Adam, no logging. Measured: ``models.trainer.
GANTrainer`` (dcgan, the loop ``mitogan train`` runs) with ``--amp off|bf16|fp16``,
``channels_last`` and ``--compile``, timed with ``torch.cuda.synchronize`` after a warm-up.
FLOPs per step come from ``torch.utils.flop_counter`` on one float32 step; the dense peak is
the bf16 tensor-core figure of the named device (``--peak-tflops`` for others).

Without a CUDA device it says so and exits 0 (``--device cpu`` runs it on the CPU, as a check).
"""
from __future__ import annotations

import argparse
import time

import torch

from bench.perf.train import sync_device, reference
from models import get_variant
from models.trainer import Batches, GANTrainer

# dense bf16 tensor-core TFLOP/s (no sparsity), from the vendors' data sheets
PEAK_TFLOPS = {"H200": 989.0, "H100": 989.0, "A100": 312.0, "L40S": 362.0, "L4": 121.0,
               "A10": 125.0, "RTX 4090": 165.0, "V100": 125.0}


def trainer(x: torch.Tensor, device, batch: int, width: int, **opts) -> tuple[GANTrainer, Batches]:
    torch.manual_seed(0)
    v = get_variant("dcgan")
    G, D = v.build(x.shape[-1], 128, width)
    t = GANTrainer(v, G, D, batch=batch, latent_dim=128, seed=0, device=device, **opts)
    data = x.to(device)
    if opts.get("channels_last"):
        data = data.contiguous(memory_format=torch.channels_last)
    return t, Batches(data, batch, 0)


def ours(x, device, steps: int, warmup: int, batch: int, width: int, **opts) -> float:
    t, b = trainer(x, device, batch, width, **opts)
    for i in range(warmup + steps):
        if i == warmup:
            sync_device(device)
            t0 = time.perf_counter()
        t.step(b.next)
    sync_device(device)
    return batch * steps / (time.perf_counter() - t0)


def flops_per_step(x, device, batch: int, width: int) -> float:
    from torch.utils.flop_counter import FlopCounterMode
    t, b = trainer(x, device, batch, width)
    t.step(b.next)
    with FlopCounterMode(display=False) as fc:
        t.step(b.next)
    return float(fc.get_total_flops())


def peak_for(name: str, override: float | None) -> float | None:
    if override:
        return override
    for key, tflops in PEAK_TFLOPS.items():
        if key.lower() in name.lower():
            return tflops
    return None


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--width", type=int, default=64)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--peak-tflops", type=float, default=None)
    ap.add_argument("--device", default="cuda")
    args = ap.parse_args(argv)
    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        print("no CUDA device visible: GPU figures pending (run this script on a GPU machine)")
        return 0
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    x = torch.rand(max(4 * args.batch, 1024), 1, args.size, args.size,
                   generator=torch.Generator().manual_seed(0)) * 2 - 1  # (N, 1, S, S)
    s, w, bs, wd = args.steps, args.warmup, args.batch, args.width
    base = reference(x, s, w, bs, device=device, width=wd)
    configs = {"amp off": {}, "amp bf16": dict(amp="bf16"),
               "amp bf16 + channels_last": dict(amp="bf16", channels_last=True),
               "amp bf16 + channels_last + compile": dict(amp="bf16", channels_last=True, compile=True)}
    if device.type == "cuda":
        configs["amp fp16 + channels_last (GradScaler)"] = dict(amp="fp16", channels_last=True)
    flops = flops_per_step(x, device, bs, wd)
    peak = peak_for(name, args.peak_tflops)
    print(f"{name}: dcgan {args.size} px, width {wd}, batch {bs}, {s} timed steps after {w}; "
          f"{flops / 1e9:.1f} GFLOP per step (float32 count)")
    print(f"{'configuration':<42} {'images/s':>10} {'× textbook':>11} {'% of dense peak':>16}")

    def row(label, ips):
        tflops = flops * ips / bs / 1e12
        share = f"{100 * tflops / peak:.1f}%" if peak else "peak unknown"
        print(f"{label:<42} {ips:>10.0f} {ips / base:>11.2f} {share:>16}")
    row("textbook loop, float32 (baseline)", base)
    for label, opts in configs.items():
        try:
            row(f"mitogan trainer, {label}", ours(x, device, s, w, bs, wd, **opts))
        except Exception as err:  # noqa: BLE001 - e.g. inductor without a compiler: report, go on
            print(f"mitogan trainer, {label}: failed ({type(err).__name__}: {str(err)[:80]})")
    if not peak:
        print(f"dense peak of {name!r} unknown: pass --peak-tflops")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
