"""Captum attribution of a discriminator's logit onto geometric masks, against a null.

Public entry points: :func:`explain_discriminator` (no MLflow) and
:func:`bench.jobs.explain.explain_run` (loads a run's discriminator, logs artifacts).
"""
from analysis.attribution.core import ExplainResult, explain_discriminator
from analysis.attribution.methods import (AttributionMethod, DEFAULT_METHODS, get_method,
                                          list_methods, register_method)

__all__ = ["AttributionMethod", "DEFAULT_METHODS", "ExplainResult", "explain_discriminator",
           "get_method", "list_methods", "register_method"]
