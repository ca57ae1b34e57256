"""Adaptive augmentation (Karras et al. 2020, ``models.augment``): the controller's arithmetic,
the augmentation's rate, the overfitting signal of each kind of loss, and the trainer's wiring."""
from __future__ import annotations

import pytest
import torch

import models
from models.augment import ADA_MAX_P, AdaptiveP, ada_augment
from models.trainer import GANTrainer

torch.set_num_threads(1)


def test_controller_moves_p_by_the_images_seen_and_stays_in_bounds():
    ada = AdaptiveP(target=0.6, speed_images=20_000, interval=4)
    for _ in range(8):  # 8 D steps of 32 images, all scored "real": two adjustments of 128 images
        ada.update(torch.ones(32))
    assert ada.p == pytest.approx(2 * 128 / 20_000) and ada.rt == 1.0
    for _ in range(3):
        ada.update(torch.ones(32))
    assert ada.p == pytest.approx(2 * 128 / 20_000)  # mid-interval: no adjustment yet
    ada.update(-torch.ones(32))
    assert ada.rt == pytest.approx(0.5) and ada.p == pytest.approx(128 / 20_000)  # 0.5 < target
    for _ in range(40):
        ada.update(-torch.ones(32))
    assert ada.p == 0.0  # never negative
    for _ in range(4 * 1000):
        ada.update(torch.ones(32))
    assert ada.p == ADA_MAX_P  # capped: beyond it augmentations leak into the generator
    again = AdaptiveP()
    again.load_state_dict(ada.state_dict())
    assert (again.p, again.rt) == (ada.p, ada.rt)


@pytest.mark.parametrize("p", [0.1, 0.3, 0.6])
def test_each_augmentation_applies_with_probability_p(p):
    """On random 8 px images every op changes an image except rotation by k=0 (1/4 of hits) and
    a zero shift (1/9 of hits, shifts of -1..1 px): P(unchanged) = (1-p)^3 (1-3p/4) (1-8p/9)."""
    x = torch.rand(4000, 1, 8, 8) * 2 - 1
    y = ada_augment(x, p, torch.Generator().manual_seed(0))
    changed = float((y != x).flatten(1).any(1).float().mean())
    expected = 1 - (1 - p) ** 3 * (1 - 0.75 * p) * (1 - 8 * p / 9)
    assert changed == pytest.approx(expected, abs=0.03)


def test_p_zero_is_the_identity_and_augmentation_is_differentiable():
    x = torch.rand(4, 1, 16, 16, requires_grad=True)
    assert ada_augment(x, 0.0) is x
    ada_augment(x, 0.8, torch.Generator().manual_seed(1)).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_overfit_signal_of_logits_and_of_critics():
    d_real, d_fake = torch.tensor([2.0, -1.0, 3.0, 0.5]), torch.tensor([1.0, 0.0, 4.0, 2.0])
    assert models.get_variant("dcgan").overfit_signal(d_real, d_fake).tolist() == [1, -1, 1, 1]
    # a critic has no zero point: reals are compared with the fakes' median (1.0)
    assert models.get_variant("wgan-gp").overfit_signal(d_real, d_fake).tolist() == [1, -1, 1, -1]
    assert models.get_variant("wgan-gp").overfit_signal(d_real + 100, d_fake + 100).tolist() == [1, -1, 1, -1]


@pytest.mark.parametrize("target, expected", [(-2.0, 2 * 4 * 8 / 20_000), (2.0, 0.0)])
def test_trainer_feeds_every_d_step_to_the_controller(target, expected):
    """Known answers from the wiring alone, whatever the networks learn: a target below any
    signal (p rises by 4 × 8 images / 20k at D steps 4 and 8 of 10) or above any (p stays 0)."""
    torch.manual_seed(0)
    variant = models.get_variant("wgan-gp")  # n_critic 5: 10 D steps in 2 steps; signs ±1 only
    G, D = variant.build(32, 8, 4)
    trainer = GANTrainer(variant, G, D, batch=8, latent_dim=8, seed=0, ada_target=target)
    real = torch.rand(8, 1, 32, 32) * 2 - 1
    for _ in range(2):
        trainer.step(lambda: real)
    assert trainer.ada.p == pytest.approx(expected)
    assert trainer.stats()["ada_p"] == pytest.approx(expected)
