"""Downstream utility: does adding synthetic frames help a model trained on real frames?

Arms (each a self-supervised encoder from ``train_ssl_encoder``, same steps, batch and seed):

- ``none``: the randomly initialised encoder (no pretraining), for context;
- ``real``: pretrained on the real training frames only (N frames);
- ``mix_<r>x``: real + the first ``r * N`` synthetic frames, for each ratio ``r``;
- ``synth``: the synthetic frames only (the whole pool, ``max(ratios) * N``).

Each frozen encoder embeds labelled real frames; a linear probe (standardised features,
sklearn ``LogisticRegression``) is fitted on the probe-train frames and scored on the
probe-test frames. CIs are 95% percentile bootstraps over test *movies* (``test_groups``: frames of
one movie are correlated, so resampling frames would understate the uncertainty; 2,000
resamples); the gain ``mix_<r>x - real`` is bootstrapped paired (the same resampled movies for
both arms). Without ``test_groups`` every test frame is its own unit. The number of optimiser steps is the same for every arm, so a larger
synthetic pool changes what the encoder sees, not how long it trains.
"""
from __future__ import annotations

import numpy as np
import torch

from analysis.extractors.ssl import train_ssl_encoder
from analysis.judge import unit_bootstrap
from analysis.judge_models import torch_threads
from bench.errors import MitoError


def embed(encoder: torch.nn.Module, imgs: np.ndarray, batch: int = 512) -> np.ndarray:
    """Frozen-encoder features: ``(N, 1, H, W)`` float32 [0, 1] -> ``(N, D)`` float32."""
    with torch.no_grad():
        x = torch.from_numpy(np.ascontiguousarray(imgs, np.float32))
        return torch.cat([encoder(c) for c in x.split(batch)]).numpy()


def probe_correct(f_train: np.ndarray, y_train: np.ndarray, f_test: np.ndarray,
                  y_test: np.ndarray, seed: int = 0) -> np.ndarray:
    """Fit a linear probe on features ``(N, D)``; return ``(M,)`` bool: test frame classified right."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000, random_state=seed))
    clf.fit(f_train, y_train)
    return clf.predict(f_test) == y_test


def _verdict(lo: float, hi: float, ceiling: bool) -> str:
    if ceiling:
        return "cannot tell: the probe is at ceiling with real frames alone (task too easy)"
    if lo > 0:
        return "synthetic data helps"
    if hi < 0:
        return "synthetic data hurts"
    return "synthetic data does not help (no detectable effect)"


def utility(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray,
            synth: np.ndarray, *, ssl_real: np.ndarray | None = None,
            ratios=(1, 10, 50), ssl_steps: int = 300, seed: int = 0, batch: int = 64,
            n_boot: int = 2000, threads: int | None = 1, progress: bool = True,
            test_groups: np.ndarray | None = None) -> dict:
    """Probe accuracy per pretraining arm and the gain from adding synthetic frames.

    Parameters
    ----------
    x_train, x_test : np.ndarray
        Labelled real frames ``(N, 1, H, W)`` float32 [0, 1] for fitting / scoring the probe.
    y_train, y_test : np.ndarray
        ``(N,)`` labels (any hashable values); at least two classes in ``y_train``.
    synth : np.ndarray
        Synthetic frames ``(M, 1, H, W)`` float32 [0, 1] with ``M >= max(ratios) * n_real``.
    ssl_real : np.ndarray, optional
        Real frames the encoders pretrain on (default ``x_train``); ``n_real = len(ssl_real)``.
    ratios : sequence of int
        Synthetic-to-real ratios of the mixed arms.
    ssl_steps, seed, batch : int
        ``train_ssl_encoder`` settings, identical for every arm.
    threads : int or None
        torch threads while training (None: leave as is). One by default: these small convs
        gain little from threads and collapse when other processes share the cores.
    test_groups : np.ndarray, optional
        ``(N_test,)`` movie of each test frame: the units the intervals resample.

    Returns
    -------
    dict
        ``arms``: {arm: {acc, ci_low, ci_high, n_real, n_synth}}; ``gains``: {r: {gain, ci_low,
        ci_high, verdict}}; ``metrics``: flat (``utility_acc_<arm>``, ``utility_gain_<r>x`` and
        its CI); ``chance`` (majority-class share of the test set), ``n_train``, ``n_test``,
        ``classes``, ``ci_method``.
    """
    ssl_real = x_train if ssl_real is None else ssl_real
    y_train, y_test = np.asarray(y_train), np.asarray(y_test)
    if len(np.unique(y_train)) < 2:
        raise MitoError("labels", f"the probe needs at least two classes in its training frames, "
                        f"got {sorted(set(y_train.tolist()))}")
    if len(x_test) == 0:
        raise MitoError("labels", "no labelled real frames left to test the probe on")
    ratios = sorted({int(r) for r in ratios})
    n_real, size = len(ssl_real), x_train.shape[-1]
    if len(synth) < ratios[-1] * n_real:
        raise MitoError("synthetic", f"{ratios[-1]}x needs {ratios[-1] * n_real} frames, got {len(synth)}")
    # arm -> (pretraining frames, SSL steps, n real, n synthetic)
    arms = {"none": (ssl_real, 0, n_real, 0), "real": (ssl_real, ssl_steps, n_real, 0)}
    for r in ratios:
        arms[f"mix_{r}x"] = (np.concatenate([ssl_real, synth[:r * n_real]]), ssl_steps,
                             n_real, r * n_real)
    arms["synth"] = (synth[:ratios[-1] * n_real], ssl_steps, 0, ratios[-1] * n_real)
    correct = {}
    with torch_threads(threads or torch.get_num_threads()):
        for arm, (imgs, steps, _, _) in arms.items():
            enc = train_ssl_encoder(imgs, steps=steps, seed=seed, size=size, batch=batch,
                                    progress=progress)
            correct[arm] = probe_correct(embed(enc, x_train), y_train, embed(enc, x_test),
                                         y_test, seed)
    boot_acc, n_units = unit_bootstrap(correct, test_groups, n_boot, seed)
    out_arms = {}
    for arm, c in correct.items():
        lo, hi = np.quantile(boot_acc[arm], [0.025, 0.975])
        out_arms[arm] = {"acc": float(c.mean()), "ci_low": float(lo), "ci_high": float(hi),
                         "n_real": arms[arm][2], "n_synth": arms[arm][3]}
    gains, metrics = {}, {f"utility_acc_{a}": v["acc"] for a, v in out_arms.items()}
    for r in ratios:
        arm = f"mix_{r}x"
        lo, hi = np.quantile(boot_acc[arm] - boot_acc["real"], [0.025, 0.975])
        g = out_arms[arm]["acc"] - out_arms["real"]["acc"]
        gains[r] = {"gain": float(g), "ci_low": float(lo), "ci_high": float(hi),
                    "verdict": _verdict(lo, hi, out_arms["real"]["ci_low"] >= 0.99)}
        metrics.update({f"utility_gain_{r}x": float(g), f"utility_gain_{r}x_ci_low": float(lo),
                        f"utility_gain_{r}x_ci_high": float(hi)})
    classes, counts = np.unique(y_test, return_counts=True)
    return {"arms": out_arms, "gains": gains, "metrics": metrics,
            "chance": float(counts.max() / counts.sum()), "classes": [str(c) for c in classes],
            "n_train": int(len(y_train)), "n_test": int(len(y_test)), "n_ssl_real": n_real,
            "ssl_steps": ssl_steps, "ci_method": f"percentile bootstrap over {n_units} test "
            f"{'frames' if test_groups is None else 'movies'} ({n_boot} resamples); gains paired"}


def summary_lines(res: dict) -> list[str]:
    """Human-readable table of a :func:`utility` result, ending with a plain verdict per ratio."""
    lines = [f"probe: {res['n_train']} train / {res['n_test']} test real frames, classes "
             f"{', '.join(res['classes'])}, chance {res['chance']:.2f}; SSL {res['ssl_steps']} steps"]
    for arm, a in res["arms"].items():
        lines.append(f"  {arm:<10} acc {a['acc']:.3f} [{a['ci_low']:.3f}, {a['ci_high']:.3f}]  "
                     f"(real {a['n_real']}, synthetic {a['n_synth']})")
    for r, g in res["gains"].items():
        lines.append(f"  gain {r}x: {g['gain']:+.3f} [{g['ci_low']:+.3f}, {g['ci_high']:+.3f}] -> "
                     f"{g['verdict']}")
    return lines


def movie_labels(ds, labels: dict | None = None) -> dict[str, str]:
    """Label per movie id: ``labels`` when given, else movie ``meta["label"]``, else ``meta["class"]``
    (simulator). Movies without a label are left out; fewer than two classes is an error."""
    if labels:
        unknown = sorted(set(labels) - set(ds.movie_ids))
        if unknown:
            raise MitoError("--labels", f"unknown movie(s) {', '.join(unknown)} in data set "
                            f"{ds.name}; movies: {', '.join(ds.movie_ids)}")
        out = {m: str(v) for m, v in labels.items()}
    else:
        out = {}
        for movie in ds.movies:
            meta = movie.get("meta") or {}
            if meta.get("label", meta.get("class")) is not None:
                out[movie["id"]] = str(meta.get("label", meta.get("class")))
    if len(set(out.values())) < 2:
        raise MitoError(ds.name, f"needs labels of at least two classes for the probe, found "
                        f"{sorted(set(out.values()))}; give --labels movie=label,... or --labels-csv")
    return out


def probe_split(movie_ids: np.ndarray, frame_index: np.ndarray, labels: dict, held_movies,
                mode: str = "auto", train_fraction: float = 0.7) -> tuple[np.ndarray, str]:
    """Which labelled frames test the probe: ``(is_test (N,) bool, mode used)``.

    ``movie``: frames of held-out movies test (needs every class on both sides of the movie
    split); ``time``: within each movie, frames from ``train_fraction`` of its frame range on
    test (all tiles of one frame stay on one side). ``auto`` picks ``movie`` when possible.
    """
    held = set(held_movies)
    train_cls = {c for m, c in labels.items() if m not in held}
    held_cls = {c for m, c in labels.items() if m in held}
    if mode == "auto":
        mode = "movie" if train_cls == held_cls == set(labels.values()) else "time"
    if mode == "movie":
        if train_cls != held_cls:
            raise MitoError("--split movie", f"classes {sorted(train_cls ^ held_cls)} are on one "
                            "side of the movie split only; use --split time")
        return np.isin(movie_ids, sorted(held)) & np.isin(movie_ids, list(labels)), mode
    if mode != "time":
        raise MitoError("--split", f"unknown split {mode!r}: auto, movie or time")
    is_test = np.zeros(len(movie_ids), bool)
    for m in labels:
        sel = movie_ids == m
        lo, hi = frame_index[sel].min(), frame_index[sel].max()
        is_test |= sel & (frame_index >= lo + train_fraction * (hi - lo + 1))
    return is_test, mode
