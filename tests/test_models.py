"""GAN variants: registry, the GANVariant contract for every variant, known-answer penalties."""
from __future__ import annotations

import re
import sys

import pytest
import torch
from torch import nn

import models
from bench.errors import MitoError
from models.augment import diff_augment
from models.backbones import Discriminator, Generator
from models.base import GANVariant, gradient_penalty, r1_penalty
from models.ema import EMA
from models.fastgan import SLE, FastGANGenerator, reconstruction_loss
from models.outputs import FluorescenceOutput
from models.registry import register_variant
from models.trainer import Batches, GANTrainer

torch.set_num_threads(1)
CITATION = re.compile(r"\b[A-Z][a-z]+ et al\.? \(?(19|20)\d{2}\b")  # "Miyato et al. 2018"


def test_registry_lists_builtins_and_refuses_bad_names():
    assert {"dcgan", "lsgan", "wgan", "wgan-gp", "sngan", "r1", "fastgan",
            "projected"} <= set(models.list_variants())
    with pytest.raises(MitoError, match="unknown GAN variant 'nope'"):
        models.get_variant("nope")
    with pytest.raises(ValueError, match="already registered"):
        register_variant(type(models.get_variant("dcgan")))
    bad = type("Bad", (models.get_variant("dcgan").__class__,), {"name": "Bad Name"})
    with pytest.raises(ValueError, match="bad GAN variant name"):
        register_variant(bad)
    with pytest.raises(TypeError):
        register_variant(nn.Module)
    with pytest.raises(MitoError, match="unknown option"):
        models.get_variant("wgan-gp", gp_lambd=3)
    assert models.get_variant("wgan-gp", gp_lambda=3).gp_lambda == 3.0


@pytest.mark.parametrize("name", models.list_variants())
def test_variant_conformance(name):
    """Shapes, ranges, sign conventions, penalties and one finite training step."""
    v = models.get_variant(name)
    assert isinstance(v, GANVariant) and v.name == name and v.n_critic >= 1
    docs = (type(v).__doc__ or "") + (sys.modules[type(v).__module__].__doc__ or "")
    assert CITATION.search(docs), f"{name}: cite the paper (author et al. year) in a docstring"
    G, D = v.build(32, latent_dim=16, width=8)
    x = G(torch.randn(6, 16))  # (6, 1, 32, 32)
    assert x.shape == (6, 1, 32, 32) and x.min() >= -1 and x.max() <= 1
    assert D(x).shape == (6,)
    convs = [m for m in D.modules() if isinstance(m, nn.Conv2d)]
    assert D.last_conv is convs[-1]
    hi, lo = torch.full((6,), 3.0), torch.full((6,), -3.0)
    # D prefers high scores on real and low on fake; G prefers high scores on its images
    assert v.d_loss(hi, lo) < v.d_loss(lo, hi)
    assert v.g_loss(hi) < v.g_loss(lo)
    pens = v.penalty(D, x.detach(), x.detach())
    assert all(p.ndim == 0 and torch.isfinite(p) and p >= 0 for p in pens.values())
    opt_g, opt_d = v.optimizers(G, D)
    assert opt_g.param_groups[0]["lr"] == v.lr_g and opt_d.param_groups[0]["lr"] == v.lr_d
    trainer = GANTrainer(v, G, D, batch=4, latent_dim=16, seed=0, diffaug=True)
    before = [p.detach().clone() for p in G.parameters()]
    real = torch.rand(12, 1, 32, 32) * 2 - 1
    trainer.step(Batches(real, 4, seed=0).next)
    stats = trainer.stats()
    assert all(torch.isfinite(torch.tensor(val)) for val in stats.values())
    assert any(not torch.equal(a, b) for a, b in zip(before, G.parameters()))
    assert ("wasserstein" in stats) == (v.wasserstein(hi, lo) is not None)


@pytest.mark.parametrize("name", models.list_variants())
def test_every_generator_ends_in_the_chosen_output_layer(name):
    """A strongly negative last bias is background: exactly -1 through the fluorescence clamp,
    never reached by tanh."""
    z = torch.randn(4, 16, generator=torch.Generator().manual_seed(0))
    for output, layer in (("fluorescence", FluorescenceOutput), ("tanh", nn.Tanh)):
        G, _ = models.get_variant(name).build(32, latent_dim=16, width=8, output=output)
        assert isinstance(list(G.modules())[-1], layer)
        last = [m for m in G.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))][-1]
        with torch.no_grad():
            last.bias.fill_(-5.0)
            x = G.eval()(z)
        if output == "fluorescence":
            assert (x == -1.0).all()
        else:
            assert (x > -1.0).all() and (x < -0.99).all()


def test_sle_gates_channels_and_every_sle_is_wired():
    sle = SLE(4, 3)
    for p in sle.parameters():
        nn.init.zeros_(p)
    high = torch.randn(2, 3, 16, 16)
    assert torch.allclose(sle(torch.randn(2, 4, 8, 8), high), high / 2)  # gate sigmoid(0) = 1/2
    torch.manual_seed(0)
    G = FastGANGenerator(64, latent_dim=16, width=8).eval()  # eval: BatchNorm would rescale gates
    assert len(G.sle) == 2  # 4 px → 32 px and 8 px → 64 px
    with torch.no_grad():
        for s in G.sle:  # gates that depend strongly on their low-res input
            s.gate[1].weight.mul_(100)
            s.gate[3].weight.mul_(100)
        z = torch.randn(3, 16)
        ref = G(z)
        for s in G.sle:
            hook = s.register_forward_pre_hook(lambda m, args: (torch.zeros_like(args[0]), args[1]))
            out = G(z)
            hook.remove()
            assert (out - ref).norm() > 0.05 * ref.norm()  # unwired, the hook would change nothing


def test_fastgan_discriminator_learns_to_reconstruct_real_images():
    torch.manual_seed(0)
    v = models.get_variant("fastgan")
    _, D = v.build(64, latent_dim=16, width=8)
    blobs = nn.functional.avg_pool2d(torch.rand(8, 1, 64, 64), 9, 1, 4)
    real = (blobs - blobs.amin()) / (blobs.amax() - blobs.amin()) * 2 - 1  # (8, 1, 64, 64)
    assert D.reconstruct(real).shape == (8, 1, 32, 32)
    opt = torch.optim.Adam(D.parameters(), lr=1e-3, betas=v.betas)
    losses = []
    for _ in range(20):
        loss = v.penalty(D, real, real)["recon"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.8 * losses[0], losses
    # the term trains D's own features, not only its decoder
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in D.features.parameters())
    D.eval()  # no power iteration or batch statistics: two calls give the same number
    weighted = models.get_variant("fastgan", recon_weight=3).penalty(D, real, real)["recon"]
    assert weighted.item() == pytest.approx(3 * reconstruction_loss(D, real).item())


def test_projected_encoder_stays_frozen_while_its_heads_train():
    v = models.get_variant("projected")
    G, D = v.build(32, latent_dim=16, width=8)
    frozen = {k: t.clone() for k, t in D.encoder.state_dict().items()}  # weights + BN statistics
    projections = lambda: [b for name, b in D.named_buffers() if name.startswith("proj")]  # noqa: E731
    proj = [b.clone() for b in projections()]
    heads = [p.detach().clone() for p in D.heads.parameters()]
    D.train().requires_grad_(True)  # what a trainer does
    assert D.training and not D.encoder.training
    assert not any(p.requires_grad for p in D.encoder.parameters())
    assert all(p.requires_grad for p in D.heads.parameters())
    assert any(p.requires_grad for p in D.last_conv.parameters())
    real = torch.rand(8, 1, 32, 32) * 2 - 1
    trainer = GANTrainer(v, G, D, batch=4, latent_dim=16, seed=0, diffaug=True)
    batches = Batches(real, 4, seed=0)
    for _ in range(2):
        trainer.step(batches.next)
    assert all(torch.equal(t, D.encoder.state_dict()[k]) for k, t in frozen.items())
    assert len(proj) == 4 and all(torch.equal(a, b) for a, b in zip(proj, projections()))
    assert any(not torch.equal(a, b) for a, b in zip(heads, D.heads.parameters()))


@pytest.mark.parametrize("size", [32, 64, 128])
def test_backbones_cover_every_size(size):
    G, D = Generator(size, 8, 4), Discriminator(size, 4)
    x = G(torch.randn(2, 8))
    assert x.shape == (2, 1, size, size)
    assert D(x).shape == (2,)
    assert D.last_conv(torch.zeros(1, *D.last_conv.weight.shape[1:2], 8, 8)).shape[-1] == 4
    with pytest.raises(MitoError, match="48 px is not supported"):
        Generator(48)


class _Linear(nn.Module):
    """D(x) = <w, x>: its input gradient is w everywhere, so both penalties have closed forms."""

    def __init__(self, w):
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, x):
        return (x * self.w).flatten(1).sum(1)


def test_gradient_penalties_known_answer():
    w = torch.zeros(1, 1, 4, 4)
    w[0, 0, 0, :2] = torch.tensor([3.0, 4.0])  # ‖w‖ = 5
    D = _Linear(w)
    real, fake = torch.rand(8, 1, 4, 4), torch.rand(8, 1, 4, 4)
    assert gradient_penalty(D, real, fake).item() == pytest.approx((5 - 1) ** 2)
    assert r1_penalty(D, real).item() == pytest.approx(25.0)
    gp = models.get_variant("wgan-gp", gp_lambda=2).penalty(D, real, fake)["gp"]
    assert gp.item() == pytest.approx(2 * 16)
    assert models.get_variant("r1", r1_gamma=4).penalty(D, real, fake)["r1"].item() == pytest.approx(50.0)
    gp.backward()  # the penalty is differentiable in D's weights (double backprop)
    assert D.w.grad.abs().sum() > 0


def test_spectral_norm_brings_top_singular_value_to_one():
    torch.manual_seed(0)
    D = Discriminator(32, 8, norm="none", spectral=True).train()
    with torch.no_grad():
        for _ in range(30):  # each training-mode forward runs one power iteration
            D(torch.randn(4, 1, 32, 32))
    layers = [m for m in D.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    sigmas = [torch.linalg.matrix_norm(m.weight.flatten(1), ord=2).item() for m in layers]
    raw = [torch.linalg.matrix_norm(m.parametrizations.weight.original.flatten(1), ord=2).item()
           for m in layers]
    assert all(abs(s - 1) < 0.05 for s in sigmas), sigmas
    assert any(abs(r - 1) > 0.2 for r in raw)  # the constraint, not the initialisation, did it


def test_diffaugment_changes_images_and_keeps_generator_gradients():
    torch.manual_seed(0)
    G, D = Generator(32, 8, 4), Discriminator(32, 4)
    fake = G(torch.randn(4, 8))
    aug = diff_augment(fake, generator=torch.Generator().manual_seed(1))
    assert aug.shape == fake.shape and not torch.allclose(aug, fake)
    again = diff_augment(fake, generator=torch.Generator().manual_seed(1))
    assert torch.equal(aug, again)  # reproducible from the generator state
    D(aug).mean().backward()
    grads = [p.grad for p in G.parameters()]
    assert all(g is not None for g in grads) and all(g.abs().sum() > 0 for g in grads[:1])
    assert sum(float(g.abs().sum()) for g in grads) > 0


def test_ema_update_is_the_documented_average():
    model = nn.Linear(3, 2)
    ema = EMA(model, decay=0.9)
    old = [p.detach().clone() for p in ema.ema.parameters()]
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    ema.update(model)  # first update: warm-up decay (1 + 1) / (10 + 1)
    for e, o, p in zip(ema.ema.parameters(), old, model.parameters()):
        assert torch.allclose(e, 2 / 11 * o + 9 / 11 * p)
    ema.updates = 1000  # warmed up: the configured decay
    old = [p.detach().clone() for p in ema.ema.parameters()]
    ema.update(model)
    for e, o, p in zip(ema.ema.parameters(), old, model.parameters()):
        assert torch.allclose(e, 0.9 * o + 0.1 * p)


def test_batches_cover_each_epoch_once_and_resume_exactly():
    x = torch.arange(10.0)[:, None, None, None]
    b = Batches(x, 5, seed=3)
    epoch = torch.cat([b.next(), b.next()]).flatten()
    assert sorted(epoch.tolist()) == list(range(10))
    state = b.state_dict()
    nxt = [b.next() for _ in range(3)]
    b2 = Batches(x, 5, seed=99)
    b2.load_state_dict(state)
    assert all(torch.equal(a, b2.next()) for a in nxt)


def test_saturation_rules():
    real, fake = torch.full((4,), 20.0), torch.full((4,), -20.0)
    for name in ("dcgan", "r1", "sngan"):
        assert models.get_variant(name).saturated(real, fake)
        assert not models.get_variant(name).saturated(real * 0, fake * 0)
    assert models.get_variant("lsgan").saturated(torch.ones(4), torch.zeros(4))
    assert not models.get_variant("wgan").saturated(real, fake)  # critics cannot saturate
