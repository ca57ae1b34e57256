"""One GAN training step, independent of logging: networks, optimisers, EMA, augmentation, RNG.

``GANTrainer.step`` runs ``n_critic`` discriminator updates then one generator update; all
randomness (latents, augmentation, batch order) comes from generators owned here, so the state
returned by ``state_dict`` resumes a run bit for bit.
"""
from __future__ import annotations

import torch
from torch import nn

from models.amp import Precision, penalty_fp32
from models.augment import AdaptiveP, ada_augment, diff_augment
from models.base import GANVariant
from models.ema import EMA


class Batches:
    """Endless shuffled mini-batches of ``x (N, 1, S, S)`` (epoch by epoch, reproducible by seed)."""

    def __init__(self, x: torch.Tensor, batch: int, seed: int):
        self.x, self.batch = x, batch
        self.gen = torch.Generator().manual_seed(seed)
        self.order = torch.empty(0, dtype=torch.long)
        self.pos = 0

    def next(self) -> torch.Tensor:
        while len(self.order) - self.pos < self.batch:  # N < batch simply chains epochs
            self.order = torch.cat([self.order[self.pos:], torch.randperm(len(self.x), generator=self.gen)])
            self.pos = 0
        idx = self.order[self.pos:self.pos + self.batch]
        self.pos += self.batch
        return self.x[idx.to(self.x.device)]  # (B, 1, S, S)

    def state_dict(self) -> dict:
        return {"gen": self.gen.get_state(), "order": self.order.clone(), "pos": self.pos}

    def load_state_dict(self, state: dict) -> None:
        self.gen.set_state(state["gen"])
        self.order, self.pos = state["order"].clone(), int(state["pos"])


def _grad_norm(module: nn.Module) -> float:
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return 0.0
    return float(torch.linalg.vector_norm(torch.stack(torch._foreach_norm(grads))))


class GANTrainer:
    """Holds ``G``, ``D``, their optimisers, an optional EMA of ``G`` and the latent RNG.

    Parameters
    ----------
    variant : GANVariant
        Losses, penalty, ``n_critic``, optimiser defaults.
    G, D : nn.Module
        From ``variant.build``; moved to ``device``.
    diffaug : bool
        Apply DiffAugment to every batch D sees (real and fake alike, G step included).
    ada_target : float or None
        When set, also apply ADA's augmentations (``models.augment.ada_augment``) with a
        probability p steered so that D's overfitting signal r_t stays near this target.
    ema_decay : float or None
        Keep an EMA of G's weights when set.
    amp : {"off", "bf16", "fp16"}
        Mixed precision of the forward passes (``models.amp``; penalties stay in fp32).
    compile : bool
        ``torch.compile`` G and D for the training passes (the penalties, which differentiate
        twice, run the eager D); ``G``, ``D`` and every checkpoint stay the plain modules.
    """

    def __init__(self, variant: GANVariant, G: nn.Module, D: nn.Module, *, batch: int,
                 latent_dim: int, seed: int, lr_g: float | None = None, lr_d: float | None = None,
                 diffaug: bool = False, ada_target: float | None = None,
                 ema_decay: float | None = None, device="cpu", channels_last: bool = False,
                 fused: bool | None = None, amp: str = "off", compile: bool = False):
        self.variant, self.batch, self.latent_dim = variant, batch, latent_dim
        self.device = torch.device(device)
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        self.G, self.D = G.to(self.device, memory_format=fmt), D.to(self.device, memory_format=fmt)
        self.opt_g, self.opt_d = variant.optimizers(self.G, self.D, lr_g, lr_d, fused=fused)
        self.ema = EMA(self.G, ema_decay) if ema_decay else None
        self.gen = torch.Generator(self.device).manual_seed(seed)
        self.diffaug = diffaug
        self.ada = AdaptiveP(ada_target) if ada_target else None
        self.prec = Precision(amp, self.device)
        self.G_run, self.D_run = (torch.compile(self.G), torch.compile(self.D)) if compile else (self.G, self.D)
        self.last: dict = {}

    def _aug(self, x: torch.Tensor) -> torch.Tensor:
        x = diff_augment(x, generator=self.gen) if self.diffaug else x
        return ada_augment(x, self.ada.p, self.gen) if self.ada is not None else x

    def _z(self) -> torch.Tensor:
        return torch.randn(self.batch, self.latent_dim, device=self.device, generator=self.gen)

    def step(self, next_real) -> dict:
        """One generator step after ``n_critic`` critic steps; returns detached loss tensors.

        ``next_real()`` gives a real batch ``(B, 1, S, S)`` in [-1, 1] on the device. The fake
        batch of the last critic step is reused for the generator step (as the DCGAN paper's
        loop does), so each step costs one generator forward pass when ``n_critic`` is 1.
        """
        v, G, D, cast = self.variant, self.G_run, self.D_run, self.prec.autocast
        self.D.requires_grad_(True)
        for i in range(v.n_critic):
            real = next_real()
            last = i == v.n_critic - 1
            with torch.set_grad_enabled(last), cast():
                fake = G(self._z()).float()  # (B, 1, S, S); augmentation and penalties in fp32
            r_in, f_in = self._aug(real), self._aug(fake.detach())
            with cast():
                d_real, d_fake = D(r_in).float(), D(f_in).float()  # (B,), (B,)
            loss_d = v.d_loss(d_real, d_fake)
            pens = penalty_fp32(v, self.D, r_in, f_in, self.gen)
            self.opt_d.zero_grad(set_to_none=True)
            self.prec.step(loss_d + sum(pens.values()), self.opt_d, "d")
            v.after_d_step(self.D)
            if self.ada is not None:
                self.ada.update(v.overfit_signal(d_real, d_fake))
        self.D.requires_grad_(False)  # the G step needs gradients w.r.t. images only, not D's weights
        with cast():
            loss_g = v.g_loss(D(self._aug(fake)).float())
        self.opt_g.zero_grad(set_to_none=True)
        self.prec.step(loss_g, self.opt_g, "g")
        if self.ema is not None:
            self.ema.update(self.G)
        self.last = {"loss_d": loss_d.detach(), "loss_g": loss_g.detach(), "d_real": d_real.detach(),
                     "d_fake": d_fake.detach(), **{k: p.detach() for k, p in pens.items()}}
        return self.last

    def stats(self) -> dict[str, float]:
        """Scalars of the last step for logging (forces a device sync; call every few steps)."""
        s = {k: float(t.mean()) for k, t in self.last.items()}
        w = self.variant.wasserstein(self.last["d_real"], self.last["d_fake"])
        if w is not None:
            s["wasserstein"] = w
        s["grad_norm_d"], s["grad_norm_g"] = _grad_norm(self.D), _grad_norm(self.G)
        s["lr_d"], s["lr_g"] = self.opt_d.param_groups[0]["lr"], self.opt_g.param_groups[0]["lr"]
        if self.ada is not None:
            s["ada_p"], s["ada_rt"] = self.ada.p, self.ada.rt
        return s

    def saturated(self) -> bool:
        return self.variant.saturated(self.last["d_real"], self.last["d_fake"])

    @property
    def sampler(self) -> nn.Module:
        """The generator to sample from: the EMA copy when kept, else ``G``."""
        return self.ema.ema if self.ema is not None else self.G

    def state_dict(self) -> dict:
        return {"G": self.G.state_dict(), "D": self.D.state_dict(),
                "EMA": self.ema.state_dict() if self.ema is not None else None,
                "EMA_updates": self.ema.updates if self.ema is not None else 0,
                "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
                "rng": self.gen.get_state(), "scalers": self.prec.state_dict(),
                "ada": self.ada.state_dict() if self.ada is not None else None}

    def load_state_dict(self, state: dict) -> None:
        self.G.load_state_dict(state["G"])
        self.D.load_state_dict(state["D"])
        if self.ema is not None:
            self.ema.load_state_dict(state["EMA"])
            self.ema.updates = state["EMA_updates"]
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.gen.set_state(state["rng"])
        self.prec.load_state_dict(state.get("scalers"))
        if self.ada is not None:
            self.ada.load_state_dict(state["ada"])
