"""Metric speed: score 5,000 generated vs 600 real frames (64 px) with every metric, on the CPU.

    python -m bench.perf.metrics [--n-real 600] [--n-fake 5000] [--size 64] [--no-morphology]

Rows (same run, same frames):
  first     ``compare_arrays`` with an empty cache (real features, real morphology table and the
            real-vs-real floor are computed);
  second    ``compare_arrays`` of ANOTHER generated set against the same real set (real side read
            from the cache: real features, real morphology, floor);
  repeat    the first call again (same real and generated frames: features and morphology
            tables of both sides from the cache, metrics recomputed; target >= 3x faster);
  baseline  FID/KID/precision/recall only, by ``torch_fidelity.calculate_metrics`` from scratch
            (the same extractor, float frames); ``fid/kid/prc`` is the same subset computed by
            ``compare`` on cached features, for a like-for-like ratio.
Real frames: simulator movies prepared by ``normalize``; "generated" frames: those frames with
random flips, rotations and camera noise (a stand-in for a generator; speed does not depend on it).
"""
from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from analysis.compare import compare_arrays
from analysis.extractors import get_extractor
from analysis.extractors.cache import cached_features
from analysis.fidelity import fidelity_from_features, fidelity_from_scratch
from analysis.validation import add_noise


def real_frames(ws, n_real: int, size: int):
    from argparse import Namespace

    from preprocessing.dataset import Dataset
    from preprocessing.pipeline import prepare
    from preprocessing.simulator.cli import run as simulate_cli

    movies = max(2, int(np.ceil(n_real / 24)))
    simulate_cli(Namespace(workspace=ws, out=None, name="perf", classes=None, param=None, movies=movies,
                           frames=24, size=f"{2 * size},{2 * size}", seed=0, do_import=True, overwrite=True))
    prep = prepare(Dataset.load("perf", ws), "normalize", size, ws, progress=False)
    return prep.x[:n_real], prep.movie_ids[:n_real].astype(str)


def fake_frames(real: np.ndarray, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = real[rng.integers(0, len(real), n)]  # (n, 1, H, W)
    x = np.rot90(x, k=int(rng.integers(4)), axes=(2, 3))
    x = np.where(rng.random((n, 1, 1, 1)) < 0.5, x[..., ::-1], x)
    return add_noise(np.ascontiguousarray(x), 0.03, seed)


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n-real", type=int, default=600)
    ap.add_argument("--n-fake", type=int, default=5000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--no-morphology", action="store_true")
    args = ap.parse_args(argv)
    ex = get_extractor("mito-ssl")
    morph = not args.no_morphology
    with tempfile.TemporaryDirectory() as tmp:
        real, ids = real_frames(tmp, args.n_real, args.size)
        fake1, fake2 = fake_frames(real, args.n_fake, 1), fake_frames(real, args.n_fake, 2)
        run = lambda fk: compare_arrays(real, fk, real_movie_ids=ids, extractor=ex, workspace=tmp,  # noqa: E731
                                        morphology_metrics=morph)
        t_first, _ = timed(lambda: run(fake1))
        t_second, r2 = timed(lambda: run(fake2))
        t_repeat, _ = timed(lambda: run(fake1))
        t_base, base = timed(lambda: fidelity_from_scratch(real, fake2, ex))
        t_ours, ours = timed(lambda: fidelity_from_features(
            cached_features(ex, real, workspace=tmp), cached_features(ex, fake2, workspace=tmp)))
    print(f"metrics on the CPU: N_real={len(real)} N_fake={args.n_fake} size={args.size}px "
          f"extractor={ex.name} ({ex.weights_hash[:12]}) morphology={'on' if morph else 'off'}")
    print(f"{'row':<52}{'seconds':>10}")
    rows = [("first (empty cache, all metrics)", t_first),
            ("second (same real set, new fake, all metrics)", t_second),
            ("repeat (same real and fake sets)", t_repeat),
            ("baseline torch-fidelity from scratch (fid/kid/prc)", t_base),
            ("ours fid/kid/prc on cached features", t_ours)]
    for name, t in rows:
        print(f"{name:<52}{t:>10.2f}")
    print(f"ratio first/second: {t_first / t_second:.2f}x (real side from the cache)")
    print(f"ratio first/repeat: {t_first / t_repeat:.2f}x (target >= 3x)")
    print(f"ratio baseline/ours (fid/kid/prc): {t_base / t_ours:.2f}x")
    print("same numbers: " + ", ".join(f"{k} {ours[k]:.4g} vs {base[k]:.4g}" for k in base))
    print(f"second-run fid {r2['metrics']['fid']:.4g} (floor {r2['floor']['fid']:.4g})")


if __name__ == "__main__":
    main()
