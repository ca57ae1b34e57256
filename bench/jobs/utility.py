"""``utility_run``: the downstream-utility test (:func:`analysis.downstream.utility`) for a
tracked run: its generator, its data set and pipeline; logged back to the run."""
from __future__ import annotations

import json

import numpy as np

from analysis.downstream import movie_labels, probe_split, utility
from bench.runs import load_generator, run_frames
from bench.tracking import log_to_run
from models.sampling import sample


def utility_run(run_id: str, *, workspace=None, tracking_uri: str | None = None,
                labels: dict | None = None, ratios=(1, 10, 50), ssl_steps: int = 300,
                seed: int = 0, split: str = "auto", log: bool = True,
                progress: bool = True) -> dict:
    """:func:`utility` for a training run: its generator, its data set and pipeline.

    The encoders pretrain on the run's training frames minus the probe-test frames; the probe
    fits on labelled frames outside the test set and scores on the test set (see
    :func:`probe_split`). ``generator_saw_test_frames`` is true when the generator was trained
    on movies whose later frames test the probe (time split), a leak to keep in mind.
    With ``log``, logs ``metrics`` and ``utility/utility.json`` to the run.
    """
    G, cfg = load_generator(run_id, tracking_uri=tracking_uri)
    ds, prep, is_held = run_frames(cfg, workspace)
    lab = movie_labels(ds, labels)
    is_test, mode = probe_split(prep.movie_ids, prep.frame_index, lab,
                                np.unique(prep.movie_ids[is_held]), split)
    is_lab = np.isin(prep.movie_ids, list(lab))
    y = np.array([lab.get(m, "") for m in prep.movie_ids])
    ssl_real = prep.x[~is_held & ~is_test]  # (N_real, 1, S, S)
    synth = sample(G, max(ratios) * len(ssl_real), seed=seed)
    res = utility(prep.x[is_lab & ~is_test], y[is_lab & ~is_test], prep.x[is_test], y[is_test],
                  synth, ssl_real=ssl_real, ratios=ratios, ssl_steps=ssl_steps, seed=seed,
                  progress=progress, test_groups=prep.movie_ids[is_test])
    res.update(split=mode, generator_saw_test_frames=bool((is_test & ~is_held).any()))
    if log:
        log_to_run(run_id, tracking_uri, res["metrics"], "utility",
                   lambda d: (d / "utility.json").write_text(json.dumps(res, indent=1)))
    return res
