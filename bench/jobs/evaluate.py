"""``evaluate_run``: score a training run's generator with the protocol of :mod:`analysis.protocol`.

The run's real frames are split by movie exactly as training split them (``Dataset.split``:
stratified by label where movies carry one) and prepared by the run's own pipeline, so the
generator is compared with real frames that went through the same transform. Its samples are
scored against the *held-out* movies; the floor is the training movies against the same
held-out movies at the same N; every number has a 95% interval over movies; memorisation is
the samples' nearest-training-frame distances against the held-out frames' (see
:mod:`analysis.protocol.score`). Keys: :mod:`analysis.protocol.flat` (``fid``,
``fid_ci_low``, ``floor_fid``, ``gap_z_fid``, ``copying``, ``heldout_gap``, ...), plus
``intensity_output`` (0 for pipelines whose output is an edge map or a mask: they are left out of
cross-pipeline rankings), ``real_<feature>_median`` / ``fake_<feature>_median`` morphology in µm
where the data set's pixel size is known, ``real_<stat>`` / ``fake_<stat>`` pixel intensities
(:mod:`analysis.intensity`: exact-zero background, median, 99th percentile), and ``inception_fid`` / ``inception_floor_fid`` (+
intervals) only when Inception weights are on this machine.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from analysis.evaluation_figures import morphology_histograms, nearest_grid
from analysis.extractors import available_extractors
from analysis.intensity import intensity_stats
from analysis.protocol.flat import INTENSITY, flatten, inception_keys
from analysis.protocol.roles import make_role
from analysis.protocol.score import Protocol
from analysis.protocol.text import format_result
from bench import tracking
from bench.runs import checked_split, load_generator
from models.sampling import sample

ARTIFACT_DIR = "evaluation"


def _roles(ds, train, held):
    """Train and held-out :class:`Role` s with movie ids and, where movies carry labels, strata."""
    labels = ds.movie_labels()
    strata = (lambda p: None) if labels is None else (lambda p: [labels[m] for m in p.movie_ids])  # noqa: E731
    return (make_role("train", train.x, train.movie_ids, strata(train)),
            make_role("held-out", held.x, held.movie_ids, strata(held)))


def evaluate_run(run_id: str, *, workspace, tracking_uri: str | None = None, n_samples: int | None = None,
                 log: bool = True, seed: int | None = None, print_table: bool = False,
                 n_boot: int | None = None) -> dict:
    """Score the generator of ``run_id``; returns the flat metrics (module docstring).

    ``n_samples`` defaults to the N the run was last evaluated at (a study's ``n_eval_samples``:
    the floor and every gap depend on N, so a re-evaluation must not silently change it), else
    to the number of training frames (the floor is then all of them).
    ``log`` writes the metrics, ``evaluation/evaluation.json`` (the whole protocol result) and
    the figures (nearest-training-frame grid, morphology histograms vs held-out) to the run.
    """
    from preprocessing.dataset import Dataset
    from preprocessing.physical import morphology_um, training_pixel_size_um
    from preprocessing.pipeline import Pipeline

    G, cfg = load_generator(run_id, tracking_uri)
    ds = Dataset.load(cfg.dataset, workspace)
    train, held = checked_split(run_id, cfg, workspace, tracking_uri, dataset=ds)
    if n_samples is None:  # the N of the run's last evaluation, when it has one
        n_samples = tracking.client(tracking_uri).get_run(run_id).data.metrics.get("n_samples")
    m = int(n_samples or len(train.x))
    seed = cfg.seed + 1 if seed is None else seed
    fake = sample(G, m, seed=seed)  # (M, 1, S, S) float32 in [0, 1]
    roles = _roles(ds, train, held)
    kw = {} if n_boot is None else {"n_boot": n_boot}
    proto = Protocol(*roles, extractor="mito-ssl", workspace=workspace, seed=cfg.seed, **kw)
    res = proto.score(make_role("samples", fake))
    not_intensity = Pipeline.parse(cfg.pipeline).not_intensity()
    flat = {**flatten(res), INTENSITY: float(not not_intensity)}
    if "inception-v3-compat" in available_extractors():  # standard FID/KID too, weights being local
        flat.update(inception_keys(flatten(Protocol(*roles, extractor="inception-v3-compat", workspace=workspace,
                               seed=cfg.seed, morphology=False, **kw).score(make_role("samples", fake)))))
    tables = {"real": proto.morphology(held.x), "fake": proto.morphology(fake)}  # the protocol's own
    px = training_pixel_size_um(ds, cfg.pipeline, cfg.size)
    for side, table in tables.items():  # µm where the data set's pixel size is known
        flat.update({f"{side}_{k}_median": v for k, v in morphology_um(table, px).items()})
    for side, x in (("real", held.x), ("fake", fake)):  # the background haze features hardly see
        flat.update({f"{side}_{k}": v for k, v in intensity_stats(x).items()})
    report = {"run_id": run_id, "pipeline": cfg.pipeline, "sample_seed": seed, "split": {
        "train": sorted(set(train.movie_ids)), "heldout": sorted(set(held.movie_ids)),
        "stratified_by_label": ds.movie_labels() is not None},
        "intensity_output": not not_intensity, "not_intensity_ops": not_intensity,
        "pixel_size_um": px, **res}
    if print_table:
        print(format_result(res, f"run {run_id} ({cfg.pipeline}) vs its held-out movies"))
        if not_intensity:
            print(f"not ranked against intensity pipelines: {', '.join(not_intensity)} output is "
                  "not an intensity image")
    if log:
        feats = lambda x: proto.distinct.standardise(proto.features(x))  # noqa: E731
        _log(tracking.client(tracking_uri), run_id, flat, report, fake, train.x,
             feats(train.x), feats(fake), tables)
    return flat


def _log(c, run_id, flat, report, fake, train, tr_f, fk_f, tables) -> None:
    import time

    from mlflow.entities import Metric
    from sklearn.neighbors import NearestNeighbors

    now = int(time.time() * 1000)
    metrics = [Metric(k, v, now, 0) for k, v in flat.items() if np.isfinite(v)]
    for i in range(0, len(metrics), 900):  # MLflow's batch limit is 1000 metrics
        c.log_batch(run_id, metrics=metrics[i:i + 900])
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        (d / "evaluation.json").write_text(json.dumps(report, indent=2, default=float))
        dist, idx = NearestNeighbors(n_neighbors=1).fit(tr_f).kneighbors(fk_f)
        nearest_grid(fake, train, idx[:, 0], dist[:, 0], d / "nearest_neighbours.png")
        morphology_histograms(tables["real"], tables["fake"], d / "morphology_histograms.png")
        for p in sorted(d.iterdir()):
            c.log_artifact(run_id, str(p), ARTIFACT_DIR)
