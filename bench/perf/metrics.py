"""Metric speed: score 5,000 generated vs 600 real frames (64 px) with every metric, on the CPU.

    python -m bench.perf.metrics [--n-real 600] [--n-fake 5000] [--size 64] [--no-morphology]

The protocol (``analysis.protocol.score.Protocol``; what ``evaluate``, studies and the report
use), real frames split by movie into train and held-out, each row a NEW ``Protocol`` object as
a new ``evaluate`` process would build it:
  protocol first     empty caches: real features and morphology, the floor's 200 bootstrap
                     replicates, then the model's;
  protocol second    ANOTHER generated set against the same split: real side, floor and its
                     reference draws from the workspace cache; the model's own bootstrap runs
                     (it is paired with the floor's and costs as much: this ratio stays below 3x);
  protocol re-score  the first set again (a report rebuilt, a study resumed): the whole result
                     from the cache (target >= 3x).

The two-set suite (``compare-sets`` without ``--heldout``), same frames:
  first     ``compare_arrays`` with an empty cache (real features, real morphology table and the
            real-vs-real floor are computed);
  second    ``compare_arrays`` of ANOTHER generated set against the same real set (real side read
            from the cache: real features, real morphology, floor; target >= 3x faster);
  repeat    the first call again (same real and generated frames: features and morphology
            tables of both sides from the cache, metrics recomputed);
  baseline  FID/KID/precision/recall only, by ``torch_fidelity.calculate_metrics`` from scratch
            (the same extractor, float frames); ``fid/kid/prc`` is the same subset computed by
            ``compare`` on cached features, for a like-for-like ratio.
Real frames: simulator movies prepared by ``normalize``; "generated" frames: those frames with
random flips, rotations and camera noise (a stand-in for a generator; speed does not depend on it).
"""
from __future__ import annotations

import argparse
import tempfile

import numpy as np

from analysis.metrics.suite import compare_arrays
from analysis.extractors import get_extractor
from analysis.extractors.cache import cached_features
from analysis.fidelity import fidelity_from_features, fidelity_from_scratch
from analysis.metrics.known_answers import add_noise
from bench.perf import timed


def real_frames(ws, n_real: int, size: int):
    from preprocessing.pipeline import prepare
    from preprocessing.simulator.cli import simulate_dataset

    movies = max(2, int(np.ceil(n_real / 24)))
    ds = simulate_dataset(ws, "perf", movies=movies, frames=24, size_yx=(2 * size, 2 * size), seed=0,
                          overwrite=True)
    prep = prepare(ds, "normalize", size, ws, progress=False)
    return prep.x[:n_real], prep.movie_ids[:n_real].astype(str)


def fake_frames(real: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = real[rng.integers(0, len(real), n)]  # (n, 1, H, W)
    x = np.rot90(x, k=int(rng.integers(4)), axes=(2, 3))
    x = np.where(rng.random((n, 1, 1, 1)) < 0.5, x[..., ::-1], x)
    return add_noise(np.ascontiguousarray(x), 0.03, seed)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-real", type=int, default=600)
    ap.add_argument("--n-fake", type=int, default=5000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--rounds", type=int, default=3, help="median over rounds, each with empty caches")
    ap.add_argument("--no-morphology", action="store_true")
    args = ap.parse_args(argv)
    morph = not args.no_morphology
    times = {k: [] for k in ("first", "second", "repeat", "base", "ours", "p_first", "p_second",
                             "p_repeat")}
    with tempfile.TemporaryDirectory() as data:
        real, ids = real_frames(data, args.n_real, args.size)
        fake1, fake2 = fake_frames(real, args.n_fake, 1), fake_frames(real, args.n_fake, 2)
        for _ in range(args.rounds):
            with tempfile.TemporaryDirectory() as tmp:  # empty feature / morphology / floor caches
                ex = get_extractor("mito-ssl")  # a fresh one: its network is built in the first call
                run = lambda fk: compare_arrays(real, fk, real_movie_ids=ids, extractor=ex,  # noqa: E731
                                                workspace=tmp, morphology_metrics=morph)
                results = {}
                for key, fake in (("first", fake1), ("second", fake2), ("repeat", fake1)):
                    t, results[key] = timed(lambda: run(fake))
                    times[key].append(t)
                r2 = results["second"]
                t, base = timed(lambda: fidelity_from_scratch(real, fake2, ex))
                times["base"].append(t)
                t, ours = timed(lambda: fidelity_from_features(
                    cached_features(ex, real, workspace=tmp), cached_features(ex, fake2, workspace=tmp)))
                times["ours"].append(t)
            with tempfile.TemporaryDirectory() as tmp:
                for key, fake in (("p_first", fake1), ("p_second", fake2), ("p_repeat", fake1)):
                    t, presult = timed(lambda: protocol_score(real, ids, fake, tmp, morph))
                    times[key].append(t)
        spread = morph_cap_spread(real, fake2) if morph and len(fake2) > r2["n_fake_morphology"] else None
    t_first, t_second, t_repeat, t_base, t_ours, p_first, p_second, p_repeat = (
        float(np.median(times[k])) for k in times)
    print(f"metrics on the CPU: N_real={len(real)} N_fake={args.n_fake} size={args.size}px "
          f"extractor={ex.name} ({ex.weights_hash[:12]}) morphology={'on' if morph else 'off'}, "
          f"median of {args.rounds} rounds")
    print(f"{'row':<52}{'seconds':>10}   rounds")
    rows = [("first (empty cache, all metrics)", "first"),
            ("second (same real set, new fake, all metrics)", "second"),
            ("repeat (same real and fake sets)", "repeat"),
            ("baseline torch-fidelity from scratch (fid/kid/prc)", "base"),
            ("ours fid/kid/prc on cached features", "ours"),
            ("protocol first (empty caches)", "p_first"),
            ("protocol second (new generated set, cached split)", "p_second"),
            ("protocol re-score (same sets, cached)", "p_repeat")]
    for name, key in rows:
        print(f"{name:<52}{np.median(times[key]):>10.2f}   " + " ".join(f"{t:.2f}" for t in times[key]))
    print(f"ratio first/second: {t_first / t_second:.2f}x (real side from the cache; target >= 3x)")
    print(f"ratio first/repeat: {t_first / t_repeat:.2f}x (both sides from the cache)")
    print(f"ratio baseline/ours (fid/kid/prc): {t_base / t_ours:.2f}x")
    n = presult["n"]
    print(f"protocol: {n['train']['frames']} train / {n['heldout']['frames']} held-out frames "
          f"({n['train']['movies']} / {n['heldout']['movies']} movies), {n['samples']['frames']} of "
          f"{n['samples']['given']} samples, {presult['n_boot']} replicates")
    print(f"ratio protocol first/re-score: {p_first / p_repeat:.2f}x (cached re-scoring; target >= 3x)")
    print(f"ratio protocol first/second: {p_first / p_second:.2f}x (new generated set: its own "
          "bootstrap, paired with the cached floor's)")
    print("same numbers: " + ", ".join(f"{k} {ours[k]:.4g} vs {base[k]:.4g}" for k in base))
    sd = r2["floor_sd"]
    print(f"second-run fid {r2['metrics']['fid']:.4g} (floor {r2['floor']['fid']:.4g} ± "
          f"{sd['fid'] or 0:.2g} over {r2['floor_splits']} splits)")
    if spread:
        full, subs = spread
        print(f"morph_fd on all {args.n_fake} generated frames {full:.4g}; on {r2['n_fake_morphology']} "
              f"(the cap, 10 random subsets) {subs.mean():.4g} ± {subs.std(ddof=1):.2g}; "
              f"floor spread ± {sd['morph_fd'] or 0:.2g}")


def protocol_score(real: np.ndarray, ids: np.ndarray, fake: np.ndarray, ws, morph: bool) -> dict:
    """A fresh :class:`Protocol` on the by-movie split of ``real`` scoring ``fake`` (caches in ``ws``)."""
    from analysis.protocol.roles import make_role, split_by_movie
    from analysis.protocol.score import Protocol
    held = split_by_movie(ids).is_heldout(ids)
    p = Protocol(make_role("train", real[~held], ids[~held]), make_role("held-out", real[held], ids[held]),
                 extractor=get_extractor("mito-ssl"), workspace=ws, morphology=morph)
    return p.score(make_role("samples", fake))


def morph_cap_spread(real: np.ndarray, fake: np.ndarray, draws: int = 10):
    """``morph_fd`` of the whole generated set, and of ``draws`` random subsets of the capped size
    (what :func:`analysis.metrics.splits.morph_sample` measures): the cap's own sampling error."""
    from analysis.metrics.splits import morph_sample
    from analysis.metrics.morphology_distance import morph_distances
    from analysis.morphology import morphology_table

    real_m, fake_m = morphology_table(real[:, 0]), morphology_table(fake[:, 0])
    k = len(morph_sample(len(fake), len(real)))
    rng = np.random.default_rng(0)
    subs = [morph_distances(real_m, fake_m.iloc[rng.choice(len(fake), k, replace=False)])["morph_fd"]
            for _ in range(draws)]
    return morph_distances(real_m, fake_m)["morph_fd"], np.array(subs)


if __name__ == "__main__":
    main()
