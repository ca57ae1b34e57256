"""What a training run has cost: the budget a study compares variants at (``budget.seconds``)."""
from __future__ import annotations

import time

from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry


class FlopCount(TorchDispatchMode):
    """FLOPs of the ops run under it that ``torch.utils.flop_counter`` has formulas for
    (convolutions, matrix products, attention; forward and backward). Not its
    ``FlopCounterMode``: that one also tracks modules with backward hooks, which
    ``torch.autograd.grad`` (the gradient penalties of wgan-gp and r1) refuses."""

    def __init__(self):
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += int(formula(*args, **kwargs, out_val=out))
        return out


class Compute:
    """What training has cost so far: seconds inside training steps (grids, checkpoints and
    scoring excluded, so a budget in seconds buys the same optimisation on any logging
    schedule), images the discriminator has seen, and FLOPs.

    FLOPs are counted once, on the first step of this session, by ``FlopCount`` (forward and
    backward convolutions and matrix products, penalties' double backward included;
    element-wise ops and augmentation are not counted), then multiplied by the steps: an
    estimate that compares architectures, not a hardware measurement. Not counted under
    ``torch.compile``. ``state`` (``{"train_s": ..}`` from the checkpoint) carries the seconds
    across a resume, so an interrupted run spends only the rest of its budget.
    """

    def __init__(self, cfg, state: dict, imgs_per_step: int):
        self.cfg, self.state, self.imgs_per_step = cfg, state, imgs_per_step
        self.flops_per_step = state.get("flops_per_step")

    def spent(self, step: int) -> bool:
        return step >= self.cfg.steps or (self.cfg.max_seconds is not None
                                          and self.state["train_s"] >= self.cfg.max_seconds)

    def step(self, trainer, batches) -> None:
        t0 = time.perf_counter()
        if self.flops_per_step is None and not self.cfg.compile:
            with FlopCount() as counter:
                trainer.step(batches.next)
            self.flops_per_step = self.state["flops_per_step"] = counter.total
        else:
            trainer.step(batches.next)
        self.state["train_s"] += time.perf_counter() - t0

    def metrics(self, step: int) -> dict[str, float]:
        out = {"train_seconds": self.state["train_s"], "images_seen": float(step * self.imgs_per_step),
               "steps_done": float(step)}
        if self.flops_per_step is not None:
            out["train_gflops"] = self.flops_per_step * step / 1e9
        return out
