"""``evaluate_run``: evaluate a training run: sample its generator, score it in its own space and in the common
space, test memorization against held-out movies, log everything to the run.

* Own space: the run's training frames as its own pipeline made them (``cfg.pipeline``), with
  ``mito-ssl`` features. Keys: ``fid``, ``kid_mean``, ..., ``morph_fd``, ``wd_*``.
* Common space (the same for every run, so runs with different pipelines can be ranked): real
  training frames prepared by the plain ``normalize`` pipeline at the same size, morphology after
  the one fixed segmentation and ``mito-ssl`` features. Keys prefixed ``common_``.
* ``inception_fid``, ``inception_kid_mean``, ... (common space) only when Inception weights are
  on this machine (see :mod:`analysis.extractors.inception`).
* Every metric has its real-vs-real floor: ``floor_<key>`` (mean over splits), ``floor_sd_<key>``.
* Memorization, own space (the generator's output lives there): ``copying_z``, ``copying_p``,
  ``copying``, ``authenticity``, ``birthday_support`` against training / held-out movies.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from analysis import memorization
from analysis.evaluation_figures import morphology_histograms, nearest_grid
from analysis.extractors import available_extractors, get_extractor
from analysis.extractors.cache import cached_features
from analysis.metrics import COMMON_PIPELINE, COMMON_PREFIX, INCEPTION_PREFIX, flat_keys, floor_key
from analysis.metrics.suite import compare_arrays, format_table
from bench import tracking
from bench.runs import load_generator, run_split
from models.sampling import sample

ARTIFACT_DIR = "evaluation"


def evaluate_run(run_id: str, *, workspace, tracking_uri: str | None = None, n_samples: int | None = None,
                 log: bool = True, seed: int | None = None, print_table: bool = False) -> dict:
    """Score the generator of ``run_id``; returns flat metrics (own, ``common_``, ``floor_*``).

    ``n_samples`` defaults to the number of real training frames (equal N keeps FID's small-N
    bias the same on both sides of the floor comparison). ``log`` writes metrics, the JSON and
    figures (nearest-neighbour grid, morphology histograms) to the run.
    """
    from preprocessing.dataset import Dataset

    G, cfg = load_generator(run_id, tracking_uri)
    ds = Dataset.load(cfg.dataset, workspace)
    own_tr, own_he = run_split(cfg, workspace, dataset=ds, progress=False)
    com_tr, _ = run_split(cfg, workspace, dataset=ds, pipeline=COMMON_PIPELINE, progress=False)
    m = int(n_samples or len(own_tr.x))
    seed = cfg.seed + 1 if seed is None else seed
    fake = sample(G, m, seed=seed)  # (M, 1, S, S) in [0, 1]
    ex = get_extractor("mito-ssl")
    fake_key = f"run-{run_id}-n{m}-s{seed}"
    own = compare_arrays(own_tr.x, fake, real_movie_ids=own_tr.movie_ids, extractor=ex,
                         workspace=workspace, real_key=own_tr.key, fake_key=fake_key)
    tables: dict = {}
    com = compare_arrays(com_tr.x, fake, real_movie_ids=com_tr.movie_ids, extractor=ex,
                         workspace=workspace, real_key=com_tr.key, fake_key=fake_key, out_tables=tables)
    flat = {**flat_keys(own), **flat_keys(com, COMMON_PREFIX)}
    if "inception-v3-compat" in available_extractors():  # standard FID/KID too, weights being local
        inc = compare_arrays(com_tr.x, fake, real_movie_ids=com_tr.movie_ids, workspace=workspace,
                             extractor=get_extractor("inception-v3-compat"), real_key=com_tr.key,
                             fake_key=fake_key, morphology_metrics=False, fidelity_only=True)
        for k in ("fid", "kid_mean", "kid_std", "precision", "recall"):
            key = INCEPTION_PREFIX + k
            flat[key], flat[floor_key(key)] = inc["metrics"][k], inc["floor"][k]

    feats = lambda x, key: cached_features(ex, x, workspace=workspace, prep_key=key)  # noqa: E731
    tr_f, he_f, fk_f = feats(own_tr.x, own_tr.key), feats(own_he.x, own_he.key), feats(fake, fake_key)
    if len(own_he.x) >= 2:
        dc = memorization.data_copying(tr_f, he_f, fk_f)
        flat.update({f"copying_{k}" if k != "copying" else k: v for k, v in dc.items()})
    flat["authenticity"] = memorization.authenticity(tr_f, fk_f)
    bday = memorization.birthday_support(fk_f, tr_f, seed=seed)
    flat["birthday_support"], flat["birthday_lower_bound"] = bday["support"], bday["lower_bound"]
    flat = {k: float(v) for k, v in flat.items()}
    report = {"run_id": run_id, "n_samples": m, "sample_seed": seed, "extractor": ex.name,
              "extractor_weights_sha256": ex.weights_hash, "own_space": {"pipeline": cfg.pipeline, **own},
              "common_space": {"pipeline": COMMON_PIPELINE, **com}, "memorization": {
                  k: flat[k] for k in flat if k.startswith(("copying", "authenticity", "birthday"))}}
    if print_table:
        print(format_table(own, f"run {run_id} own space ({cfg.pipeline})"))
        print(format_table(com, f"run {run_id} common space ({COMMON_PIPELINE})"))
        print("memorization (own space, vs held-out movies): " + ", ".join(
            f"{k}={v:.3g}" for k, v in report["memorization"].items()))
    if log:
        _log(tracking.client(tracking_uri), run_id, flat, report, fake, own_tr.x, tr_f, fk_f, tables)
    return flat


def _log(c, run_id, flat, report, fake, train, tr_f, fk_f, tables) -> None:
    import time

    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    metrics = [Metric(k, v, now, 0) for k, v in flat.items() if np.isfinite(v)]
    for i in range(0, len(metrics), 900):  # MLflow's batch limit is 1000 metrics
        c.log_batch(run_id, metrics=metrics[i:i + 900])
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "evaluation.json").write_text(json.dumps(report, indent=2, default=float))
        idx, dist = memorization.nearest_train(fk_f, tr_f)
        nearest_grid(fake, train, idx, dist, d / "nearest_neighbours.png")
        if tables:
            morphology_histograms(tables["real"], tables["fake"], d / "morphology_histograms.png")
        for p in sorted(d.iterdir()):
            c.log_artifact(run_id, str(p), ARTIFACT_DIR)
