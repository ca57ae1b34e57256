"""Build the shipped ``mito-ssl`` weights from imported data sets and check them with a probe.

``mitogan encoder train`` calls :func:`build_ssl_weights`: frames of the data sets' *training*
movies (split by movie, as everywhere) train the encoder; frames of the held-out movies are only
used for the linear probe of a per-movie label (the simulator's morphology ``class``), compared
with a random-init encoder of the same architecture.
"""
from __future__ import annotations

import shlex
import time
from pathlib import Path

import numpy as np
import torch

from analysis.extractors.mito_ssl import MitoSSLExtractor, save_encoder
from analysis.extractors.probe import linear_probe
from analysis.extractors.ssl import SSLEncoder, train_ssl_encoder
from preprocessing.dataset import Dataset
from preprocessing.pipeline import prepare_split


def _labels(ds: Dataset, movie_ids: np.ndarray, key: str) -> np.ndarray | None:
    by_movie = {m["id"]: (m.get("meta") or {}).get(key) for m in ds.movies}
    labels = np.array([by_movie[m] for m in movie_ids], dtype=object)
    return None if any(v is None for v in labels) else labels.astype(str)


def build_ssl_weights(datasets: list[str], out: Path, *, workspace=None, pipeline: str = "normalize",
                      size: int = 64, steps: int = 800, seed: int = 0, batch: int = 64,
                      width: int = 16, label_key: str = "class", heldout_fraction: float = 0.25) -> dict:
    """Train ``mito-ssl`` on the training movies of ``datasets``; write ``out`` (+ ``.json``).

    Returns the sidecar info: command, data hashes, sizes, seconds, sha256 and (when every movie
    has ``meta[label_key]``) ``probe_accuracy`` vs ``probe_accuracy_random_init`` on held-out movies.
    """
    train_x, held_x, train_y, held_y, hashes = [], [], [], [], {}
    for name in datasets:
        ds = Dataset.load(name, workspace)
        hashes[name] = ds.hash
        tr, he = prepare_split(ds, pipeline, size, workspace, heldout_fraction, seed=seed)
        train_x.append(tr.x)
        held_x.append(he.x)
        train_y.append(_labels(ds, tr.movie_ids, label_key))
        held_y.append(_labels(ds, he.movie_ids, label_key))
    x_train = np.concatenate(train_x)  # (N, 1, size, size)
    t0 = time.perf_counter()
    enc = train_ssl_encoder(x_train, steps=steps, seed=seed, size=size, batch=batch, width=width)
    command = ["mitogan", "encoder", "train", *[a for n in datasets for a in ("--dataset", n)],
               "--pipeline", pipeline, "--size", str(size), "--steps", str(steps), "--seed", str(seed),
               "--batch", str(batch), "--width", str(width)]
    info = {"command": shlex.join(command),
            "datasets": hashes, "pipeline": pipeline, "size": size, "steps": steps, "seed": seed,
            "batch": batch, "width": width, "n_train_frames": int(len(x_train)),
            "train_seconds": round(time.perf_counter() - t0, 1),
            "n_params": int(sum(p.numel() for p in enc.parameters())),
            "torch": torch.__version__}
    if all(y is not None for y in train_y + held_y) and sum(len(h) for h in held_x):
        y_tr, y_he = np.concatenate(train_y), np.concatenate(held_y)
        x_he = np.concatenate(held_x)
        torch.manual_seed(seed)
        baseline = SSLEncoder(size=size, width=width).eval()
        for tag, model in (("", enc), ("_random_init", baseline)):
            ex = MitoSSLExtractor(encoder=model)
            info[f"probe_accuracy{tag}"] = round(linear_probe(ex.features(x_train), y_tr,
                                                              ex.features(x_he), y_he), 4)
        info["probe"] = (f"logistic regression of meta[{label_key!r}] on features of {len(y_tr)} "
                         f"training-movie frames, accuracy on {len(y_he)} held-out-movie frames; "
                         f"chance {1 / len(set(y_tr)):.2f}")
    info["sha256"] = save_encoder(enc, Path(out), info)
    return info
