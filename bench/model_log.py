"""The trained generator as an MLflow model that loads without this project's code.

The model is saved in MLflow's ``pt2`` format (``torch.export``: a traced graph plus weights,
no pickled classes), with a tensor signature ``z (-1, latent_dim) float32 → images
(-1, 1, S, S) float32 in [0, 1]`` and an input example, so ``mlflow.pytorch.load_model(uri)``
works anywhere torch and mlflow are installed, and the MLflow UI shows what goes in and out.
"""
from __future__ import annotations

import logging
import os
from contextlib import contextmanager

import numpy as np
import torch

MODEL_NAME = "generator"  # the logged model's name in the run (``runs:/<id>/generator``)


class _Images(torch.nn.Module):
    """``G`` with its output mapped from [-1, 1] to images in [0, 1] (what ``generate`` returns)."""

    def __init__(self, G: torch.nn.Module):
        super().__init__()
        self.G = G

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (N, latent) → (N, 1, S, S)
        return ((self.G(z) + 1) / 2).clamp(0, 1)


def signature(latent_dim: int, size: int):
    from mlflow.models import ModelSignature
    from mlflow.types import Schema, TensorSpec
    return ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, latent_dim), "z")]),
        outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, 1, size, size), "images")]))


def log_generator(c, run_id: str, G: torch.nn.Module, seed: int = 0) -> str:
    """Log ``G`` (copied to the CPU, eval mode) to run ``run_id`` of client ``c``; return its URI.

    Sets the run's ``mitogan.model_uri`` tag to that URI.
    """
    import copy
    import mlflow
    model = _Images(copy.deepcopy(G)).cpu().eval()
    z = torch.randn(2, G.latent_dim, generator=torch.Generator().manual_seed(seed)).numpy()  # batch 2: not specialised
    log = logging.getLogger("mlflow.models.model")
    level = log.level
    log.setLevel(logging.ERROR)  # the "no model id" chatter of logging into a non-active run
    try:  # explicit requirements: inferring them would import-scan (and may reach the network)
        with _global_uri(c.tracking_uri):
            info = mlflow.pytorch.log_model(
                model, name=MODEL_NAME, run_id=run_id, serialization_format="pt2",
                input_example=z, signature=signature(G.latent_dim, G.size),
                pip_requirements=[f"torch=={torch.__version__.split('+')[0]}",
                                  f"mlflow=={mlflow.__version__}"])
    finally:
        log.setLevel(level)
    c.set_tag(run_id, "mitogan.model_uri", info.model_uri)
    return info.model_uri


@contextmanager
def _global_uri(uri: str):
    """MLflow's global tracking URI set to ``uri`` for the block: ``log_model`` and a
    ``models:/`` source resolve through it, whatever client they were called from."""
    import mlflow
    previous, env_before = mlflow.get_tracking_uri(), os.environ.get("MLFLOW_TRACKING_URI")
    mlflow.set_tracking_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)
        if env_before is None:  # set_tracking_uri exports the variable: undo, or it leaks into later calls
            os.environ.pop("MLFLOW_TRACKING_URI", None)


def register_best(c, name: str, run_id: str, alias: str = "best"):
    """Register run ``run_id``'s logged generator as a version of model ``name`` and point
    ``alias`` at it; returns the version (the existing one when the alias already names it)."""
    from mlflow.exceptions import MlflowException
    uri = c.get_run(run_id).data.tags.get("mitogan.model_uri")
    if uri is None:
        return None  # trained with log_model=false: nothing to register
    try:
        current = c.get_model_version_by_alias(name, alias)
        if current.run_id == run_id:
            return current
    except MlflowException:  # no such model or alias yet
        try:
            c.create_registered_model(name, description="MitoGAN generators; alias "
                                      f"'{alias}' = the study's best trial (first leaderboard row)")
        except MlflowException:
            pass  # another worker created it in between
    with _global_uri(c.tracking_uri):
        version = c.create_model_version(name, source=uri, run_id=run_id,
                                         model_id=uri.removeprefix("models:/"))
    c.set_registered_model_alias(name, alias, version.version)
    return version
