"""Registered names, importable without torch, OpenCV or NumPy, for the CLI's ``--help``.

``mitogan --help`` must answer in well under a second, and the registries live in modules that
import torch (GAN variants, extractors, judges, attribution methods) or OpenCV (ops). Each tuple
here is the list its registry holds; ``tests/test_cli.py`` checks every one against the live
registry, so a newly registered name that is not added here fails the suite, not a user.
"""
from __future__ import annotations

GAN_VARIANTS = ("dcgan", "fastgan", "lsgan", "projected", "r1", "sngan", "wgan",
                "wgan-gp")                                            # models.list_variants()
OPS = ("register", "normalize", "deoverlay", "clahe", "gaussian", "nlm", "laplacian", "otsu",
       "resize", "tile")                                              # preprocessing.ops
EXTRACTORS = ("mito-ssl", "inception-v3-compat")                      # analysis.extractors
JUDGES = ("cnn", "logreg-pixels")                                     # analysis.judge_models
ATTRIBUTION_METHODS = ("ig", "ig-black", "saliency", "gradcam", "occlusion")  # analysis.attribution


def listed(names) -> str:
    """``"a, b, c"``: names for a help text."""
    return ", ".join(names)
