"""Real-or-fake judge: a classifier two-sample test (C2ST) between real and generated frames.

A small classifier is trained, k-fold, to tell real frames (label 0) from generated frames
(label 1). Its pooled out-of-fold accuracy is the statistic: 0.5 means the two sets cannot be
told apart, 1.0 means every frame is recognised. The same test between two sets of real frames
(real training vs real held-out) is the floor a generator is judged against.

Statistics (all from the pooled out-of-fold predictions, one per frame):

- ``acc``: pooled out-of-fold accuracy.
- ``ci_low``/``ci_high``: 95% percentile bootstrap CI of ``acc`` (2,000 resamples of the pooled
  out-of-fold correctness), resampling whole groups (``real_groups``/``fake_groups``, e.g.
  movie time blocks) when given, single frames otherwise. It leaves out refitting variance.
- ``p_binom``: one-sided exact binomial test of ``acc > 0.5`` on the effective number of
  independent predictions (N / Kish design effect of the groups). Predictions of one fold
  share a classifier, so they are still not strictly independent; ``n_perm`` label
  permutations (the whole k-fold procedure rerun with shuffled labels) check that the null sits
  at 0.5: ``p_perm = (1 + #{perm acc >= acc}) / (1 + n_perm)`` and ``perm_acc`` are reported.
  ``p`` is ``p_binom`` (``p_perm`` cannot go below ``1 / (1 + n_perm)``).

Classifiers are a small registry in :mod:`analysis.judge_models` (``get_judge`` and
``list_judges`` re-exported here):
``"cnn"`` is the default, ``"logreg-pixels"`` a raw-pixel logistic regression baseline.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import binomtest

from analysis.judge_models import Judge, get_judge
from analysis.judge_models import list_judges  # noqa: F401  (re-exported: callers list judges here)
from bench.errors import MitoError


def _check(name: str, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if x.ndim != 4 or x.shape[1] != 1 or len(x) < 2:
        raise MitoError(name, f"expected frames (N>=2, 1, H, W), got shape {x.shape}")
    return x


def _fold_of(y: np.ndarray, folds: int, seed: int, groups: np.ndarray | None = None) -> np.ndarray:
    """(N,) fold number per frame, stratified by class; frames of one group share a fold.

    Groups (e.g. a movie's block of consecutive frames) keep near-duplicate frames out of
    the fold that tests them: otherwise the judge could recognise a movie it trained on.
    Units (groups, or single frames) go, in seeded random order, to the fold of their class
    with the fewest frames so far.
    """
    rng = np.random.default_rng(seed)
    groups = np.arange(len(y)).astype(str) if groups is None else np.asarray(groups).astype(str)
    fold_of = np.empty(len(y), int)
    for cls in (0, 1):
        units = np.unique(groups[y == cls])
        filled = np.zeros(folds, int)
        for g in units[rng.permutation(len(units))]:
            members = (y == cls) & (groups == g)
            k = int(np.argmin(filled))
            fold_of[members] = k
            filled[k] += members.sum()
    return fold_of


def _oof_prob(judge: Judge, x: np.ndarray, y: np.ndarray, fold_of: np.ndarray,
              seed: int) -> np.ndarray:
    """Out-of-fold P(generated) for every frame of ``x`` (N, 1, H, W)."""
    folds = int(fold_of.max()) + 1
    prob = np.empty(len(y), np.float64)
    for k in range(folds):
        test = fold_of == k
        prob[test] = judge.fit_predict(x[~test], y[~test], x[test], seed + 1000 * k)
    return prob


def c2st(real: np.ndarray, fake: np.ndarray, *, folds: int = 5, seed: int = 0,
         judge: str | Judge = "cnn", n_perm: int = 0, n_boot: int = 2000,
         real_groups: np.ndarray | None = None, fake_groups: np.ndarray | None = None) -> dict:
    """Classifier two-sample test between real and generated frames.

    Parameters
    ----------
    real, fake : np.ndarray
        (N, 1, H, W) and (M, 1, H, W) float32 in [0, 1]. The larger set is subsampled
        (seeded) to the size of the smaller so the classes are balanced.
    folds : int
        k of the stratified k-fold.
    seed : int
        Seeds subsampling, fold assignment, classifier init and bootstrap (deterministic on CPU).
    judge : str or Judge
        Registered classifier name or instance.
    n_perm : int
        Label permutations for ``p_perm`` (each reruns the whole k-fold procedure).
    n_boot : int
        Bootstrap resamples for the CI.
    real_groups, fake_groups : np.ndarray, optional
        (N,) / (M,) group label per frame (e.g. ``movie:time-block``); a group never spans two
        folds (see :func:`movie_blocks`). Default: every frame its own group.

    Returns
    -------
    dict
        ``acc``, ``ci_low``, ``ci_high``, ``ci_method``, ``p``, ``p_binom``, ``p_perm`` (None
        without permutations), ``perm_acc`` (list), ``fold_acc`` (list), ``n_per_class``,
        ``judge``, ``real_idx``/``fake_idx`` (n,) indices of the frames used in ``real``/``fake``,
        ``prob_real``/``prob_fake`` (n,) out-of-fold P(generated) of those frames.
    """
    real, fake = _check("real", real), _check("fake", fake)
    if real.shape[1:] != fake.shape[1:]:
        raise MitoError("fake", f"frame shape {fake.shape[1:]} differs from real {real.shape[1:]}")
    n = min(len(real), len(fake))
    if n < 2 * folds:
        raise MitoError("c2st", f"need at least {2 * folds} frames per side for {folds} folds, got {n}")
    jd = get_judge(judge) if isinstance(judge, str) else judge
    rng = np.random.default_rng(seed)
    real_idx = np.sort(rng.choice(len(real), n, replace=False))
    fake_idx = np.sort(rng.choice(len(fake), n, replace=False))
    x = np.concatenate([real[real_idx], fake[fake_idx]])  # (2n, 1, H, W)
    y = np.repeat([0, 1], n)
    groups = np.concatenate([
        ["r:" + str(g) for g in (real_idx if real_groups is None else np.asarray(real_groups)[real_idx])],
        ["f:" + str(g) for g in (fake_idx if fake_groups is None else np.asarray(fake_groups)[fake_idx])]])
    fold_of = _fold_of(y, folds, seed, groups)
    prob = _oof_prob(jd, x, y, fold_of, seed)
    correct = (prob > 0.5) == (y == 1)  # (2n,)
    acc = float(correct.mean())
    lo, hi = _cluster_bootstrap(correct, groups, n_boot, rng)
    p_binom = _binom_p(correct, groups)
    perm_acc = []
    for i in range(n_perm):  # labels shuffled over frames; groups kept within each shuffled class
        yp = np.random.default_rng([seed, i]).permutation(y)
        prob_p = _oof_prob(jd, x, yp, _fold_of(yp, folds, seed, groups), seed)
        perm_acc.append(float(((prob_p > 0.5) == (yp == 1)).mean()))
    p_perm = (1 + sum(a >= acc for a in perm_acc)) / (1 + n_perm) if n_perm else None
    return {"acc": acc, "ci_low": float(lo), "ci_high": float(hi),
            "ci_method": f"percentile bootstrap of {len(np.unique(groups))} groups of pooled "
                         f"out-of-fold predictions ({len(correct)} frames)",
            "p": p_binom, "p_binom": p_binom, "p_perm": p_perm, "perm_acc": perm_acc,
            "fold_acc": [float(correct[fold_of == k].mean()) for k in range(folds)],
            "n_per_class": n, "judge": jd.name, "real_idx": real_idx, "fake_idx": fake_idx,
            "prob_real": prob[:n], "prob_fake": prob[n:]}


def unit_bootstrap(correct: dict, groups, n_boot: int, rng) -> tuple[dict, int]:
    """Accuracy replicates ``{arm: (n_boot,)}`` resampling whole units (movies) with replacement,
    the same draw for every arm (paired), and the number of units. ``correct``: arm -> ``(N,)``
    bool per frame; ``groups``: ``(N,)`` unit of each frame, or None (each frame its own: the
    plain frame bootstrap); ``rng``: a seed or a ``numpy`` Generator."""
    n = len(next(iter(correct.values())))
    groups = np.arange(n) if groups is None else np.asarray(groups).astype(str)
    _, unit = np.unique(groups, return_inverse=True)
    n_units = int(unit.max()) + 1
    boot = np.random.default_rng(rng).integers(0, n_units, (n_boot, n_units))  # units drawn
    size = np.bincount(unit, minlength=n_units)[boot].sum(1)  # (n_boot,) frames per replicate
    return {a: np.bincount(unit, weights=c, minlength=n_units)[boot].sum(1) / size
            for a, c in correct.items()}, n_units


def _cluster_bootstrap(correct: np.ndarray, groups: np.ndarray, n_boot: int,
                       rng: np.random.Generator) -> tuple[float, float]:
    """95% percentile CI of the mean of ``correct`` (N,), resampling whole groups (frames of one
    group are correlated)."""
    reps, _ = unit_bootstrap({"acc": correct}, groups, n_boot, rng)
    lo, hi = np.quantile(reps["acc"], [0.025, 0.975])
    return float(lo), float(hi)


def _binom_p(correct: np.ndarray, groups: np.ndarray) -> float:
    """One-sided exact binomial p of accuracy > 0.5 on the effective number of independent
    predictions ``N / deff`` (Kish design effect: cluster-robust over binomial variance)."""
    n, acc = len(correct), float(correct.mean())
    _, inv = np.unique(groups, return_inverse=True)
    resid = np.bincount(inv, weights=correct - acc)  # per-group sum of residuals
    var_binom = acc * (1 - acc) / n
    deff = max(1.0, float((resid ** 2).sum() / n ** 2) / var_binom) if var_binom > 0 else 1.0
    n_eff = max(1, int(round(n / deff)))
    return float(binomtest(int(round(acc * n_eff)), n_eff, 0.5, alternative="greater").pvalue)


def movie_blocks(movie_ids: np.ndarray, frame_index: np.ndarray, blocks: int) -> np.ndarray:
    """(N,) group label ``movie:block``: each movie's frame range cut into ``blocks`` runs of
    consecutive frames, so that :func:`c2st` folds do not test on a neighbour of a training frame."""
    out = np.empty(len(movie_ids), object)
    for m in np.unique(movie_ids):
        sel = movie_ids == m
        lo, hi = frame_index[sel].min(), frame_index[sel].max()
        out[sel] = [f"{m}:{int((f - lo) * blocks // (hi - lo + 1))}" for f in frame_index[sel]]
    return out.astype(str)


def which_is_real_figure(real: np.ndarray, fake: np.ndarray, result: dict, path, k: int = 8):
    """Save the "Which image is real?" grid: real frames, then the generated frames the judge
    found most real and most fake, each titled with its out-of-fold P(generated)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    order = np.argsort(result["prob_fake"])  # most real-looking generated frames first
    k = min(k, len(order))
    rows = [("real\n(held-out)", real[result["real_idx"][:k]], result["prob_real"][:k]),
            ("generated:\njudged most real", fake[result["fake_idx"][order[:k]]],
             result["prob_fake"][order[:k]]),
            ("generated:\njudged most fake", fake[result["fake_idx"][order[::-1][:k]]],
             result["prob_fake"][order[::-1][:k]])]
    fig, axes = plt.subplots(3, k, figsize=(1.4 * k, 4.8), squeeze=False)
    for r, (label, imgs, probs) in enumerate(rows):
        for c in range(k):
            ax = axes[r, c]
            ax.imshow(imgs[c, 0], cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([]), ax.set_yticks([])
            ax.set_title(f"P(gen)={probs[c]:.2f}", fontsize=7)
        axes[r, 0].set_ylabel(label, fontsize=7)
    fig.suptitle(f"Which image is real?  C2ST acc {result['acc']:.2f} "
                 f"[{result['ci_low']:.2f}, {result['ci_high']:.2f}], n={result['n_per_class']}/class",
                 fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
