"""``TrainConfig``: everything that determines a training run (logged whole as its params).

Its own module so that the training driver (:mod:`bench.train`) and the way back into a run
(:mod:`bench.runs`) both import it without importing each other.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models import get_variant, list_variants
from models.backbones import SIZES
from models.outputs import OUTPUTS


class TrainConfig(BaseModel):
    """Everything that determines a training run (logged whole as the run's params)."""

    model_config = ConfigDict(extra="forbid")
    dataset: str
    pipeline: str = "normalize|resize"
    gan: str = "dcgan"
    gan_options: dict = {}          # the variant's own options, e.g. {"gp_lambda": 10}
    size: int = 64                  # px (32, 64 or 128)
    steps: int = Field(2000, ge=1)  # generator updates (the cap when max_seconds is set)
    max_seconds: float | None = Field(None, gt=0)  # budget in seconds of training steps (equal compute)
    seed: int = 0                   # weights, latents, batches and the train/held-out split
    batch: int = Field(64, ge=1)
    diffaug: bool = False
    ada: bool = False               # adaptive augmentation probability (models/augment.py, ADA)
    ada_target: float = Field(0.6, gt=0, lt=1)   # the overfitting signal r_t that p is steered to
    output: Literal[OUTPUTS] = "tanh"  # generator output layer (models/outputs.py)
    ema: bool = False
    ema_decay: float = Field(0.999, gt=0, lt=1)
    latent_dim: int = Field(128, ge=1)
    width: int = Field(64, ge=4)
    lr_g: float | None = Field(None, gt=0)  # None → the variant's default (resolved before logging)
    lr_d: float | None = Field(None, gt=0)
    n_critic: int | None = Field(None, ge=1)
    device: str = "auto"            # auto | cpu | cuda[:i]
    experiment: str = "mitogan"
    heldout_fraction: float = Field(0.25, ge=0, lt=1)
    log_every: int = Field(10, ge=1)
    log_batch: int = Field(200, ge=1)
    sample_every: int = Field(500, ge=1)
    n_grid: int = Field(64, ge=1)   # images in each sample grid (fixed latents)
    ckpt_every: int = Field(500, ge=1)
    eval_every: int = Field(0, ge=0)  # on_step(step, G) every k steps; 0 = never
    saturation_steps: int = Field(200, ge=1)
    threads: int | None = Field(None, ge=1)   # intra-op threads; None: bench.threads chooses
    workers: int | None = Field(None, ge=1)   # trainings sharing these cores; None: $MITOGAN_WORKERS or 1
    channels_last: bool = False
    amp: Literal["off", "bf16", "fp16"] = "off"  # mixed precision (models/amp.py); fp16: CUDA only
    compile: bool = False           # torch.compile G and D for the training passes
    fused: bool | None = None       # fused Adam kernels (None: PyTorch's choice)
    log_model: bool = True          # the final generator as an MLflow model

    @field_validator("gan")
    @classmethod
    def _known_gan(cls, v):
        if v not in list_variants():
            raise ValueError(f"unknown GAN variant {v!r} (choose from {', '.join(list_variants())})")
        return v

    @field_validator("size")
    @classmethod
    def _size(cls, v):
        if v not in SIZES:
            raise ValueError(f"{v} px is not supported (choose from {SIZES})")
        return v

    def networks(self):
        """``(variant, G, D)``: the run's variant (``n_critic`` set) and fresh networks built
        from this config (size, latent size, width, output layer): the one way to build them."""
        variant = get_variant(self.gan, **self.gan_options)
        variant.n_critic = self.n_critic or variant.n_critic
        G, D = variant.build(self.size, self.latent_dim, self.width, self.output)
        return variant, G, D

    def resolved(self) -> "TrainConfig":
        """Defaults of the variant spelled out (learning rates, n_critic, options, pipeline)."""
        from preprocessing.pipeline import Pipeline
        v = get_variant(self.gan, **self.gan_options)
        return self.model_copy(update={
            "lr_g": self.lr_g or v.lr_g, "lr_d": self.lr_d or v.lr_d,
            "n_critic": self.n_critic or v.n_critic,
            "gan_options": {k: getattr(v, k) for k in v.options},
            "pipeline": Pipeline.parse(self.pipeline).canonical()})
