"""Attribution methods for a discriminator, behind one small registry.

Every method maps a batch of frames ``(N, 1, H, W)`` in the discriminator's own input range
``[-1, 1]`` to a non-negative attribution map ``(N, H, W)`` float32: the absolute value of the
captum attribution of the discriminator's scalar logit (summed over the single channel).
Absolute values because a pixel that pushes the logit down is as "looked at" as one that pushes
it up; enrichment scores (``scores.py``) compare attribution *mass*, so signs would cancel.
"""
from __future__ import annotations

import abc

import torch
from captum.attr import (IntegratedGradients, LayerAttribution, LayerGradCam, NoiseTunnel,
                         Occlusion, Saliency)
from torch import nn

from analysis.degradations import gaussian_blur as _blur
from bench.errors import MitoError
from bench.registry import Registry

BLUR_SIGMA_FRACTION = 1 / 8  # blurred baseline: sigma = size / 8 keeps intensity, drops geometry


def gaussian_blur(x: torch.Tensor, sigma_px: float) -> torch.Tensor:
    """Separable Gaussian blur of ``(N, 1, H, W)`` with reflect padding (same shape out).

    :func:`analysis.degradations.gaussian_blur` with radius ``round(3 * sigma_px)`` instead of its
    ceil: the attribution baselines and causal-check blurs keep the kernels they were tuned with.
    """
    return _blur(x, sigma_px, radius=max(1, int(round(3 * sigma_px))))


def blurred_baseline(x: torch.Tensor) -> torch.Tensor:
    """The IG/occlusion reference: the same frame, blurred (sigma = H / 8 pixels)."""
    return gaussian_blur(x, max(1.0, x.shape[-1] * BLUR_SIGMA_FRACTION))


class AttributionMethod(abc.ABC):
    """Contract: ``attribute(D, x)`` with ``x`` (N, 1, H, W) float32 in [-1, 1] returns
    ``|attribution|`` as a float32 tensor (N, H, W) >= 0 on the CPU, deterministic for a fixed
    ``torch`` seed. ``D`` maps (N, 1, H, W) to (N,) logits and is in eval mode. The caller
    chunks frames; a method may further batch internally (IG steps, occlusion patches)."""

    name: str = ""

    @abc.abstractmethod
    def attribute(self, D: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """Return (N, H, W) float32 non-negative attribution maps."""


def _to_maps(attr: torch.Tensor) -> torch.Tensor:
    return attr.detach().abs().sum(dim=1).float().cpu()  # (N, 1, H, W) -> (N, H, W)


class IntegratedGradientsMethod(AttributionMethod):
    """Integrated Gradients along a straight path from a baseline (blurred frame or black)."""

    def __init__(self, baseline: str = "blur", n_steps: int = 50,
                 internal_batch_size: int | None = None):
        # None = all steps of a call's frames in one pass: fastest on the CPU in
        # bench/perf/explain.py; the caller's frame chunks already bound the memory.
        self.baseline, self.n_steps, self.internal_batch_size = baseline, n_steps, internal_batch_size

    def attribute(self, D, x):
        base = blurred_baseline(x) if self.baseline == "blur" else torch.full_like(x, -1.0)
        ig = IntegratedGradients(D)
        return _to_maps(ig.attribute(x, baselines=base, n_steps=self.n_steps,
                                     internal_batch_size=self.internal_batch_size))


class SmoothGradMethod(AttributionMethod):
    """SmoothGrad: |gradient| averaged over noisy copies (noise sd 0.15 of the [-1, 1] range)."""

    def __init__(self, nt_samples: int = 16, stdev: float = 0.3):
        self.nt_samples, self.stdev = nt_samples, stdev

    def attribute(self, D, x):
        nt = NoiseTunnel(Saliency(D))
        return _to_maps(nt.attribute(x, nt_type="smoothgrad", nt_samples=self.nt_samples,
                                     nt_samples_batch_size=self.nt_samples, stdevs=self.stdev,
                                     abs=True))


class GradCamMethod(AttributionMethod):
    """Grad-CAM on ``D.last_conv``, bilinearly upsampled to the frame.

    A DCGAN-style discriminator's last conv often maps to a 1 x 1 logit, where Grad-CAM is
    constant; then the layer's *input* (the last spatial feature map) is used instead."""

    def attribute(self, D, x):
        layer = getattr(D, "last_conv", None)
        if not isinstance(layer, nn.Conv2d):
            raise MitoError("discriminator", "has no `last_conv` nn.Conv2d attribute for Grad-CAM")
        to_input = _output_is_pointwise(D, layer, x[:1])
        cam = LayerGradCam(D, layer).attribute(x, attribute_to_layer_input=to_input)
        up = LayerAttribution.interpolate(cam, tuple(x.shape[-2:]), interpolate_mode="bilinear")
        return _to_maps(up)


def _output_is_pointwise(D: nn.Module, layer: nn.Module, x1: torch.Tensor) -> bool:
    shapes = []
    handle = layer.register_forward_hook(lambda m, i, o: shapes.append(tuple(o.shape[-2:])))
    try:
        with torch.no_grad():
            D(x1)
    finally:
        handle.remove()
    return shapes[0] == (1, 1)


class OcclusionMethod(AttributionMethod):
    """Occlusion with square patches replaced by the blurred frame (not by a constant, which
    would be an out-of-distribution grey). Patch = size / 8 px, stride = half a patch."""

    def __init__(self, perturbations_per_eval: int = 32):  # tuned in bench/perf/explain.py
        self.perturbations_per_eval = perturbations_per_eval

    def attribute(self, D, x):
        w = max(2, x.shape[-1] // 8)
        occ = Occlusion(D)
        return _to_maps(occ.attribute(x, sliding_window_shapes=(1, w, w), strides=(1, w // 2, w // 2),
                                      baselines=blurred_baseline(x),
                                      perturbations_per_eval=self.perturbations_per_eval))


_METHODS: Registry[AttributionMethod] = Registry("attribution method", "--methods", r"[a-z0-9][a-z0-9_-]*")


def register_method(name: str, method: AttributionMethod) -> None:
    """Add an attribution method; refuses bad or duplicate names."""
    _METHODS.add(name, method)
    method.name = name


def get_method(name: str) -> AttributionMethod:
    """The registered method ``name``; a MitoError listing the choices otherwise."""
    return _METHODS.get(name)


def list_methods() -> list[str]:
    return _METHODS.names()  # registration order: the order of tables and figures


register_method("ig", IntegratedGradientsMethod("blur"))
register_method("ig-black", IntegratedGradientsMethod("black"))
register_method("saliency", SmoothGradMethod())
register_method("gradcam", GradCamMethod())
register_method("occlusion", OcclusionMethod())

DEFAULT_METHODS = ("ig", "saliency", "gradcam", "occlusion")
