"""A known answer for attribution: two classes of tubule frames that differ in one geometric
feature (beads), and a project discriminator trained to tell them apart.

``explain_discriminator`` on such a discriminator must rank ``beads`` first and the causal
blur check must agree. Used by ``tests/test_attribution.py`` and
``bench/explain_known_answer.py``; frames are drawn here (cv2 + blur + noise) so the check does
not depend on the simulator.
"""
from __future__ import annotations

import cv2
import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

SUPERSAMPLE = 4  # draw at 4x and downsample, so sub-pixel tubule widths look smooth


def _curve(rng: np.random.Generator, size: int) -> np.ndarray:
    """A gently bending random curve across the frame, (K, 2) xy points in pixels."""
    p0, p2 = rng.uniform(0.05, 0.95, 2) * size, rng.uniform(0.05, 0.95, 2) * size
    while np.linalg.norm(p2 - p0) < 0.5 * size:
        p2 = rng.uniform(0.05, 0.95, 2) * size
    p1 = (p0 + p2) / 2 + rng.normal(0, 0.2 * size, 2)
    t = np.linspace(0, 1, 64)[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2  # quadratic Bezier


def _non_crossing_curves(rng: np.random.Generator, size: int, n: int) -> list[np.ndarray]:
    """Up to ``n`` curves at least 4 px apart: crossings would be bright bead-like blobs in
    both classes and blur the one difference the known answer is about."""
    curves: list[np.ndarray] = []
    for _ in range(20 * n):
        c = _curve(rng, size)
        if all(np.min(np.linalg.norm(c[:, None] - o[None], axis=2)) > 4 for o in curves):
            curves.append(c)
        if len(curves) == n:
            break
    return curves


def render_tubules(n: int, size: int, *, beaded: bool, seed: int, n_tubules: int = 3,
                   width_px: tuple[float, float] = (0.5, 1.2),
                   thick_px: tuple[float, float] = (3.0, 4.0), p_thick: float = 0.34,
                   bead_radius_px: float = 2.2,
                   bead_spacing_px: float = 8.0, psf_sigma_px: float = 0.7,
                   noise: float = 0.03) -> np.ndarray:
    """Frames of tubules, smooth or pearled (beads strung along each tubule).

    Parameters
    ----------
    n, size : number of frames and their side in pixels.
    beaded : draw beads of ``bead_radius_px`` every ``bead_spacing_px`` along each tubule.
    width_px, thick_px : (min, max) line width of thin and of thick tubules; each tubule is
        thick with probability ``p_thick`` in both classes and only thin ones carry beads, so
        "wide somewhere" is no cue: only a bulge on a thin tubule tells the classes apart. psf_sigma_px : Gaussian blur standing in for the PSF.
    noise : sd of additive Gaussian noise (after Poisson-like shot noise), in [0, 1] units.

    Returns
    -------
    np.ndarray (n, 1, size, size) float32 in [0, 1].
    """
    rng = np.random.default_rng(seed)
    big = size * SUPERSAMPLE
    out = np.empty((n, 1, size, size), np.float32)
    for i in range(n):
        canvas = np.zeros((big, big), np.float32)
        for pts in _non_crossing_curves(rng, size, n_tubules):
            thick = rng.random() < p_thick
            width = rng.uniform(*(thick_px if thick else width_px))
            cv2.polylines(canvas, [np.round(pts * SUPERSAMPLE).astype(np.int32)], False, 1.0,
                          thickness=max(1, int(round(width * SUPERSAMPLE))), lineType=cv2.LINE_AA)
            if beaded and not thick:
                seg = np.r_[0, np.cumsum(np.linalg.norm(np.diff(pts, axis=0), axis=1))]
                at = np.arange(rng.uniform(0, bead_spacing_px), seg[-1], bead_spacing_px)
                for xy in np.stack([np.interp(at, seg, pts[:, k]) for k in (0, 1)], 1):
                    cv2.circle(canvas, tuple(np.round(xy * SUPERSAMPLE).astype(int)),
                               int(round(bead_radius_px * SUPERSAMPLE)), 1.0, -1, cv2.LINE_AA)
        img = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA)
        img = cv2.GaussianBlur(img, (0, 0), psf_sigma_px)
        img = 0.05 + 0.8 * img  # fixed scale: tubules equally bright in both classes
        img = rng.poisson(img * 200) / 200 + rng.normal(0, noise, img.shape)
        out[i, 0] = np.clip(img, 0, 1)
    return out


def train_to_separate(D: nn.Module, positive: np.ndarray, negative: np.ndarray, *, steps: int,
                      seed: int, batch: int = 32, lr: float = 2e-4, progress: bool = False) -> list[float]:
    """Train ``D`` in place as a classifier: logit > 0 for ``positive`` ("real"), < 0 for
    ``negative`` (both (N, 1, S, S) float32 in [0, 1]; fed to D in [-1, 1]).

    Returns the loss per step; leaves ``D`` in eval mode."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(np.concatenate([positive, negative])) * 2 - 1  # (P+Q, 1, S, S)
    y = torch.cat([torch.ones(len(positive)), torch.zeros(len(negative))])
    opt = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    losses = []
    D.train()
    for _ in tqdm(range(steps), desc="train D", disable=not progress):
        idx = torch.from_numpy(rng.integers(0, len(x), batch))
        loss = nn.functional.binary_cross_entropy_with_logits(D(x[idx]).reshape(-1), y[idx])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


@torch.no_grad()
def accuracy(D: nn.Module, positive: np.ndarray, negative: np.ndarray) -> float:
    """Fraction of frames on the right side of logit 0 (eval mode)."""
    D.eval()
    pos = D(torch.from_numpy(positive) * 2 - 1).reshape(-1) > 0
    neg = D(torch.from_numpy(negative) * 2 - 1).reshape(-1) <= 0
    return float(torch.cat([pos, neg]).float().mean())


def known_answer(*, size: int = 32, n_train: int = 128, steps: int = 150, n_eval: int = 24,
                 width: int = 16, gan: str = "dcgan", methods=None, seed: int = 0,
                 **explain_kw):
    """Train a project discriminator (``models`` variant ``gan``) to tell pearled (positive)
    from smooth tubules, then explain it on fresh frames of both classes.

    Returns
    -------
    (ExplainResult, accuracy on the fresh frames)
    """
    from analysis.attribution.core import explain_discriminator
    from analysis.attribution.methods import DEFAULT_METHODS
    from models import get_variant

    pos = render_tubules(n_train, size, beaded=True, seed=seed + 1)
    neg = render_tubules(n_train, size, beaded=False, seed=seed + 2)
    torch.manual_seed(seed)
    _, D = get_variant(gan).build(size, latent_dim=8, width=width)
    train_to_separate(D, pos, neg, steps=steps, seed=seed)
    pos_t = render_tubules(n_eval, size, beaded=True, seed=seed + 3)
    neg_t = render_tubules(n_eval, size, beaded=False, seed=seed + 4)
    acc = accuracy(D, pos_t, neg_t)
    result = explain_discriminator(D, pos_t, neg_t, methods=methods or DEFAULT_METHODS, seed=seed,
                                   **explain_kw)
    return result, acc
