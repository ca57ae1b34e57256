"""The contract every GAN variant fulfils, and the penalties several of them share."""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from bench.errors import MitoError
from models.backbones import Discriminator, Generator


class GANVariant(ABC):
    """A GAN objective: its networks, its losses, an optional regulariser and optimiser defaults.

    Contract (checked for every registered variant by ``tests/test_models.py``):

    - ``build(size, latent_dim, width, output) -> (G, D)``: ``G(z (N, latent_dim)) -> (N, 1, S, S)``
      in [-1, 1], ending in ``models.outputs.output_layer(output)``; ``D(x (N, 1, S, S)) -> (N,)``
      raw scores; ``D.last_conv`` is its last ``Conv2d``.
    - ``d_loss(d_real, d_fake)`` and ``g_loss(d_fake)`` take raw scores ``(N,)`` and return a
      scalar to *minimise*; a higher score means "more real" for every variant.
    - ``penalty(D, real, fake, generator)`` returns ``{name: weighted term}`` added to the D
      loss (``{}`` when the variant has none); it may run D again and draws any randomness
      from ``generator``.
    - ``after_d_step(D)`` runs after each discriminator update (e.g. weight clipping).
    - ``n_critic`` discriminator updates precede each generator update.

    Subclasses set ``name`` and override the class attributes below; ``options`` lists the
    variant's own hyperparameters (e.g. ``gp_lambda``) with their defaults, settable through
    ``get_variant(name, **options)``.
    """

    name: str = ""
    n_critic: int = 1
    d_norm: str = "batch"
    spectral: bool = False
    optimizer: str = "adam"          # "adam" or "rmsprop"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    betas: tuple = (0.5, 0.999)
    options: dict = {}

    def __init__(self, **options):
        unknown = set(options) - set(self.options)
        if unknown:
            raise MitoError(f"gan {self.name}", f"unknown option(s) {sorted(unknown)} "
                            f"(it has: {sorted(self.options) or 'none'})")
        for key, default in self.options.items():
            setattr(self, key, type(default)(options.get(key, default)))

    def build(self, size: int = 64, latent_dim: int = 128, width: int = 64,
              output: str = "tanh") -> tuple[nn.Module, nn.Module]:
        """Fresh generator and discriminator for ``size`` px images (see class docstring)."""
        return (Generator(size, latent_dim, width, output),
                Discriminator(size, width, norm=self.d_norm, spectral=self.spectral))

    @abstractmethod
    def d_loss(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        """Discriminator loss from raw scores of real and fake images ``(N,)``."""

    @abstractmethod
    def g_loss(self, d_fake: torch.Tensor) -> torch.Tensor:
        """Generator loss from the raw scores of its images ``(N,)``."""

    def penalty(self, D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                generator: torch.Generator | None = None) -> dict:
        return {}

    def after_d_step(self, D: nn.Module) -> None:
        return None

    def wasserstein(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> float | None:
        """Estimate of the Wasserstein-1 distance for critics; ``None`` where undefined."""
        return None

    def overfit_signal(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
        """Per-image signs ``(N,)`` whose mean is ADA's r_t (``models.augment.AdaptiveP``): for
        a logit or hinge score, ``sign(D(real))`` as in Karras et al. (2020)."""
        return torch.sign(d_real.detach())

    def saturated(self, d_real: torch.Tensor, d_fake: torch.Tensor) -> bool:
        """True when D separates the batches so completely that G gets no useful gradient."""
        p_real, p_fake = torch.sigmoid(d_real), torch.sigmoid(d_fake)
        return bool(p_real.min() > 0.99 and p_fake.max() < 0.01)

    def optimizers(self, G: nn.Module, D: nn.Module, lr_g: float | None = None,
                   lr_d: float | None = None, fused: bool | None = None):
        """``(opt_G, opt_D)`` with this variant's optimiser; ``None`` rates take the defaults."""
        lr_g, lr_d = lr_g or self.lr_g, lr_d or self.lr_d
        if self.optimizer == "rmsprop":
            return (torch.optim.RMSprop(G.parameters(), lr=lr_g),
                    torch.optim.RMSprop(D.parameters(), lr=lr_d))
        return (torch.optim.Adam(G.parameters(), lr=lr_g, betas=self.betas, fused=fused),
                torch.optim.Adam(D.parameters(), lr=lr_d, betas=self.betas, fused=fused))


def gradient_penalty(D: nn.Module, real: torch.Tensor, fake: torch.Tensor,
                     generator: torch.Generator | None = None) -> torch.Tensor:
    """WGAN-GP term ``E[(‖∇D(x̂)‖₂ − 1)²]`` on random interpolates ``x̂`` of real and fake (unweighted)."""
    eps = torch.rand(len(real), 1, 1, 1, device=real.device, dtype=real.dtype, generator=generator)
    x_hat = (eps * real.detach() + (1 - eps) * fake.detach()).requires_grad_(True)
    grad, = torch.autograd.grad(D(x_hat).sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def r1_penalty(D: nn.Module, real: torch.Tensor) -> torch.Tensor:
    """R1 term ``E[‖∇D(x)‖₂²]`` on real images (unweighted; the variant multiplies by γ/2)."""
    x = real.detach().requires_grad_(True)
    grad, = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return grad.flatten(1).pow(2).sum(dim=1).mean()
