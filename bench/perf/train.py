"""Training speed: images/s of ``mitogan train`` against a textbook DCGAN loop, on the CPU.

    python -m bench.perf.train [--steps 40] [--warmup 5] [--rounds 3] [--size 64] [--batch 64]

Baseline (same run, same frames, same architecture ``models.backbones``): the PyTorch DCGAN
tutorial loop — ``DataLoader(shuffle=True)``, ``BCEWithLogitsLoss`` with label tensors, Adam
(2e-4, β=(0.5, 0.999)), D on real then on detached fake, G on the same fake — no logging.
Measured: ``bench.train.train`` with its MLflow logging (SQLite store in a temp dir, metrics every
10 steps) timed between ``on_step`` calls after a warm-up, alternating with the baseline for
``--rounds`` rounds (median ratio; the machine may be shared). Target: ratio ≥ 0.95.
Also each option as a ratio (threads, channels_last, fused Adam, torch.compile of the baseline),
images/s of every registered variant, and the peak RSS of this process (target < 2 GB).
"""
from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile
import torch
from torch import nn

from bench.perf.movies import synthetic_movie
from bench.config import TrainConfig
from bench.train import train
from models import list_variants
from models.backbones import Discriminator, Generator


def sync_device(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def reference(x: torch.Tensor, steps: int, warmup: int, batch: int, *, channels_last=False,
              fused=None, compile_=False, device=torch.device("cpu"), width: int = 64) -> float:
    """Images/s of the textbook DCGAN loop on ``x (N, 1, S, S)`` in [-1, 1] (on the CPU; each
    batch is moved to ``device``)."""
    torch.manual_seed(0)
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    G = Generator(x.shape[-1], 128, width).to(device, memory_format=fmt)
    D = Discriminator(x.shape[-1], width).to(device, memory_format=fmt)
    if compile_:
        G, D = torch.compile(G), torch.compile(D)
    crit = nn.BCEWithLogitsLoss()
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999), fused=fused)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x), batch_size=batch,
                                         shuffle=True, drop_last=True)
    step, t0 = 0, None
    while True:
        for (real,) in loader:
            if step == warmup:
                sync_device(device)
                t0 = time.perf_counter()
            if step == warmup + steps:
                sync_device(device)
                return batch * steps / (time.perf_counter() - t0)
            real = real.to(device).contiguous(memory_format=fmt)
            ones, zeros = torch.ones(batch, device=device), torch.zeros(batch, device=device)
            D.zero_grad()
            loss_real = crit(D(real), ones)
            fake = G(torch.randn(batch, 128, device=device))
            loss_fake = crit(D(fake.detach()), zeros)
            (loss_real + loss_fake).backward()
            opt_d.step()
            G.zero_grad()
            crit(D(fake), ones).backward()
            opt_g.step()
            step += 1


def mitogan(ws: Path, uri: str, steps: int, warmup: int, **overrides) -> float:
    """Images/s of ``bench.train.train`` between the warm-up step and the last step."""
    cfg = TrainConfig(**{"dataset": "perf", "pipeline": "normalize|resize", "gan": "dcgan",
                         "size": 64, "batch": 64, "steps": warmup + steps, "experiment": "perf",
                         "log_every": 10, "eval_every": 1, "log_model": False, **overrides})
    marks = {}
    train(cfg, workspace=ws, tracking_uri=uri, progress=False,
          on_step=lambda step, G: marks.__setitem__(step, time.perf_counter()))
    n_critic = cfg.resolved().n_critic
    return cfg.batch * n_critic * steps / (marks[warmup + steps] - marks[warmup])


def dataset(ws: Path, n: int) -> None:
    from preprocessing.ingest import import_dataset
    paths = []
    for i in range(4):
        p = ws.parent / f"perf{i}.tif"
        tifffile.imwrite(p, (synthetic_movie(n // 4, 80, seed=i) * 65535).astype(np.uint16))
        paths.append(p)
    import_dataset(paths, "perf", ws, progress=False)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--variant-steps", type=int, default=10)
    ap.add_argument("--frames", type=int, default=512)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        ws = Path(tmp) / "ws"
        dataset(ws, args.frames)
        uri = f"sqlite:///{Path(tmp) / 'mlruns' / 'mlflow.db'}"
        from bench.tracking import ensure_experiment
        from preprocessing.dataset import Dataset
        from preprocessing.pipeline import prepare_split
        ensure_experiment("perf", uri)
        x = torch.from_numpy(prepare_split(Dataset.load("perf", ws), "normalize|resize", 64, ws,
                                           progress=False)[0].x) * 2 - 1  # (N, 1, 64, 64)
        s, w = args.steps, args.warmup
        rows, ref_all, ours_all = [], [], []
        for r in range(args.rounds):
            ref_all.append(reference(x, s, w, 64))
            ours_all.append(mitogan(ws, uri, s, w))
        ref = statistics.median(ref_all)
        ratios = [o / r for o, r in zip(ours_all, ref_all)]
        rows.append(("reference DCGAN loop (baseline)", ref, 1.0))
        rows.append(("mitogan train dcgan, MLflow logging", statistics.median(ours_all),
                     statistics.median(ratios)))
        options = {"threads=1": dict(threads=1), "channels_last": dict(channels_last=True),
                   "fused Adam": dict(fused=True)}
        for label, opts in options.items():
            threads = torch.get_num_threads()
            rows.append((f"mitogan train dcgan, {label}", v := mitogan(ws, uri, s, w, **opts), v / ref))
            torch.set_num_threads(threads)
        try:
            v = reference(x, s, w, 64, compile_=True)
            rows.append(("reference loop + torch.compile", v, v / ref))
        except Exception as err:  # noqa: BLE001 - inductor needs a C++ toolchain; report, go on
            rows.append((f"reference + torch.compile: failed ({type(err).__name__})", float("nan"), float("nan")))
        for name in list_variants():
            v = mitogan(ws, uri, args.variant_steps, 2, gan=name)
            rows.append((f"variant {name}", v, v / ref))
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\n64 px, batch 64, CPU threads {torch.get_num_threads()}, {len(x)} training frames; "
          f"{args.rounds} alternating rounds, per-round ratios {', '.join(f'{q:.3f}' for q in ratios)}")
    print(f"{'configuration':<48} {'images/s':>10} {'× baseline':>11}")
    for label, ips, ratio in rows:
        print(f"{label:<48} {ips:>10.1f} {ratio:>11.3f}")
    verdict = "PASS" if statistics.median(ratios) >= 0.95 else "FAIL"
    print(f"target mitogan/reference ≥ 0.95: {statistics.median(ratios):.3f} {verdict}")
    print(f"peak RSS {peak_mb:.0f} MB (target < 2048 MB): {'PASS' if peak_mb < 2048 else 'FAIL'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
