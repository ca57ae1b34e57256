"""``judge_run``: the real-or-fake judge (:func:`analysis.judge.c2st`) on a tracked run, against
its held-out movies, next to the real train-vs-held-out floor; logged back to the run.

Folds are whole movies (:mod:`analysis.protocol.c2st_folds`): a classifier tested on frames of a
movie it trained on learns to recognise the movie, not the generator. Intervals resample whole
movies (generated frames: each its own unit). Fewer than 2 movies on a real side: refused, with
the reason, before any frame is generated.
"""
from __future__ import annotations

import json

import numpy as np

from analysis.judge import which_is_real_figure
from analysis.metrics import floor_key
from analysis.protocol.c2st_folds import leave_movie_out_c2st, refusal
from bench.errors import MitoError
from bench.runs import checked_split, load_generator
from bench.tracking import log_to_run
from models.sampling import sample


def judge_run(run_id: str, *, workspace=None, tracking_uri: str | None = None,
              n_samples: int | None = None, folds: int = 5, seed: int = 0, judge: str = "cnn",
              n_perm: int = 0, log: bool = True) -> dict:
    """C2ST of a training run's generator against its held-out real frames, with the real floor.

    Generates ``n_samples`` frames (default: as many as held-out frames), runs the
    leave-movie-out ``c2st(heldout, generated)`` and the floor ``c2st(train, heldout)`` (``folds``
    lowered to the number of movies per side); with ``log`` logs
    ``c2st_acc``, ``c2st_acc_ci_low``, ``c2st_acc_ci_high``, ``c2st_p``, ``floor_c2st_acc`` (+ CI)
    to the run, and ``judge/which_is_real.png`` + ``judge/c2st.json`` as artifacts.
    Returns those metrics as a flat dict (plus ``c2st_n_real``, ``c2st_n_fake``).
    """
    G, cfg = load_generator(run_id, tracking_uri=tracking_uri)
    train, held = checked_split(run_id, cfg, workspace, tracking_uri)
    if not len(held.x):
        raise MitoError(f"run {run_id}", "has no held-out real frames (heldout_fraction 0): "
                        "the judge needs frames the generator never saw")
    why = refusal(held.movie_ids, train.movie_ids)
    if why:
        raise MitoError(f"run {run_id}", f"{why} (held-out vs train movies of the run's split)")
    fake = sample(G, n_samples or len(held.x), seed=seed)  # (M, 1, S, S)
    kw = {"folds": folds, "seed": seed, "judge": judge}
    res = leave_movie_out_c2st(held.x, held.movie_ids, fake, n_perm=n_perm, **kw)
    floor = leave_movie_out_c2st(train.x, train.movie_ids, held.x, held.movie_ids, **kw)
    out = {"c2st_acc": res["acc"], "c2st_acc_ci_low": res["ci_low"],
           "c2st_acc_ci_high": res["ci_high"], "c2st_p": res["p"], floor_key("c2st_acc"): floor["acc"],
           floor_key("c2st_acc_ci_low"): floor["ci_low"], floor_key("c2st_acc_ci_high"): floor["ci_high"]}
    if res["p_perm"] is not None:
        out["c2st_p_perm"] = res["p_perm"]
    out.update(c2st_n_real=int(res["n_per_class"]), c2st_n_fake=int(len(fake)),
               c2st_folds=int(res["folds"]), floor_c2st_folds=int(floor["folds"]))
    if log:
        def write(folder):
            which_is_real_figure(held.x, fake, res, folder / "which_is_real.png")
            summary = {k: v for k, v in res.items() if not isinstance(v, np.ndarray)}
            summary["floor"] = {k: v for k, v in floor.items() if not isinstance(v, np.ndarray)}
            (folder / "c2st.json").write_text(json.dumps(summary, indent=1))
        log_to_run(run_id, tracking_uri, out, "judge", write)
    return out
