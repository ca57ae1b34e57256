"""The ``mito-ssl`` encoder architecture and its shipped weights, below ``analysis/`` so that a
discriminator (``models.projected``) can run the same network the metrics use.

``analysis.extractors.ssl`` trains it (SimCLR) and ``analysis.extractors.mito_ssl`` wraps it as
the ``mito-ssl`` feature extractor; both re-export the names defined here. Weights file format
(``torch.save``): ``{"config": {"size", "width"}, "state_dict": {...}}``, shipped as
``models/weights/mito_ssl.pt`` with a JSON sidecar saying how they were trained.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from bench.errors import MitoError

WEIGHTS = Path(__file__).resolve().parent / "weights" / "mito_ssl.pt"
ENV_VAR = "MITOGAN_SSL_WEIGHTS"


class SSLEncoder(nn.Module):
    """Frames ``(N, 1, H, W)`` float in [0, 1] → features ``(N, 8 * width)``.

    Frames are resized to ``size`` × ``size`` first, so any input size works. BatchNorm (not
    GroupNorm: per-sample normalisation followed by global pooling erases most between-frame
    differences, and SimCLR collapses) uses running statistics in eval mode, so one frame's
    features never depend on the rest of its batch once trained.
    """

    def __init__(self, size: int = 64, width: int = 16):
        super().__init__()
        self.size, self.width = size, width
        chans = [1, width, 2 * width, 4 * width, 8 * width]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(chans[:-1], chans[1:]):
            layers += [nn.Conv2d(c_in, c_out, 3, stride=2, padding=1), nn.BatchNorm2d(c_out), nn.ReLU(),
                       nn.Conv2d(c_out, c_out, 3, padding=1), nn.BatchNorm2d(c_out), nn.ReLU()]
        self.body = nn.Sequential(*layers)
        self.dim = chans[-1]
        self.channels = tuple(chans[1:])  # of the maps returned by ``stages``

    def stages(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The feature map after each of the 4 stride-2 stages, finest first:
        ``(N, w, size/2, size/2)``, ``(N, 2w, size/4, size/4)``, …, ``(N, 8w, size/16, size/16)``."""
        x = x.float()
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True,
                              align_corners=False)
        h, maps = x * 2.0 - 1.0, []
        per_stage = len(self.body) // 4  # conv s2, BN, ReLU, conv, BN, ReLU
        for i in range(0, len(self.body), per_stage):
            h = self.body[i:i + per_stage](h)
            maps.append(h)
        return maps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(x)[-1].mean(dim=(2, 3))  # (N, 8w)


def default_weights() -> Path:
    """``$MITOGAN_SSL_WEIGHTS`` when set (e.g. a retrained encoder), else the shipped file."""
    return Path(os.environ.get(ENV_VAR) or WEIGHTS)


def load_encoder(path: Path) -> SSLEncoder:
    """Read an encoder written by ``analysis.extractors.mito_ssl.save_encoder`` (``MitoError``
    when missing or damaged); returned frozen, in eval mode, on the CPU."""
    path = Path(path)
    if not path.is_file():
        raise MitoError(path, "no mito-ssl weights here (train them: `mitogan encoder train`)")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
        enc = SSLEncoder(**blob["config"])
        enc.load_state_dict(blob["state_dict"])
    except (RuntimeError, KeyError, TypeError, EOFError) as err:
        raise MitoError(path, f"not a mito-ssl weights file ({type(err).__name__}: {err})") from err
    return enc.eval().requires_grad_(False)
