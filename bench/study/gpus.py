"""GPU assignment for study workers: one card per worker process, round-robin.

Each worker is a separate process whose ``CUDA_VISIBLE_DEVICES`` names one card, so inside it
that card is ``cuda:0`` and ``--device auto`` needs no index. The cards are ``--gpus 0,1``, else
the parent's own ``CUDA_VISIBLE_DEVICES`` entries (a scheduler's allocation: indices or UUIDs),
else every card torch sees; none → the workers run on the CPU and the variable is left alone.
"""
from __future__ import annotations

import os

from bench.errors import MitoError


def parse_gpus(text: str | None) -> list[str] | None:
    """``"0,1"`` → ``["0", "1"]``; ``"none"`` or ``""`` → ``[]`` (CPU only); ``None`` → ``None``
    (use every visible card)."""
    if text is None:
        return None
    if text.strip().lower() in ("", "none", "cpu"):
        return []
    ids = [t.strip() for t in text.split(",")]
    if any(not t for t in ids) or len(set(ids)) != len(ids):
        raise MitoError("--gpus", f"expected distinct ids like 0,1 (or none), got {text!r}")
    if all(t.isdigit() for t in ids):
        n = visible_count()
        bad = [t for t in ids if int(t) >= n]
        if bad:
            raise MitoError("--gpus", f"no GPU {', '.join(bad)}: this machine shows {n}")
    return ids


def visible_count() -> int:
    import torch  # only asked when a study starts several workers
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def visible_gpus(env: dict | None = None) -> list[str]:
    """The cards this process may use, as ids a child's ``CUDA_VISIBLE_DEVICES`` accepts."""
    env = os.environ if env is None else env
    mask = env.get("CUDA_VISIBLE_DEVICES")
    if mask is not None:  # already restricted (SLURM, a user): keep exactly those cards
        return [t.strip() for t in mask.split(",") if t.strip() and t.strip() != "-1"]
    return [str(i) for i in range(visible_count())]


def worker_envs(base: dict, n: int, gpus: list[str] | None) -> list[dict]:
    """The environment of each of ``n`` workers: ``base`` plus, with cards, worker ``i`` on card
    ``gpus[i % len(gpus)]`` (round-robin; several workers share a card when n > cards).
    ``gpus=[]`` hides every card (CPU workers); ``None`` means ``visible_gpus(base)``."""
    visible = visible_gpus(base)
    if gpus is None:
        cards = visible
    else:  # --gpus indices count within the parent's own mask, as torch's do
        cards = [visible[int(g)] if g.isdigit() and "CUDA_VISIBLE_DEVICES" in base else g for g in gpus]
    if gpus is not None and not gpus:
        return [{**base, "CUDA_VISIBLE_DEVICES": ""} for _ in range(n)]
    if not cards:
        return [dict(base) for _ in range(n)]
    return [{**base, "CUDA_VISIBLE_DEVICES": cards[i % len(cards)]} for i in range(n)]
