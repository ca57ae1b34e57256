"""The planted-generator ladder: generators whose verdict is known, scored by the protocol.

Real movies are split three ways by movie (stratified by class where movies have one): train,
held-out (the reference) and a third group no generator and no reference uses. Rungs:

(a) ``heldout-movies``: the third group's frames (a perfect new-movie generator);
(b) ``train+noise``: the training frames plus Gaussian noise sigma = 0.01 (a copier);
(c) ``repeat-5``: 5 frames of the third group repeated to its size (collapse);
(d) ``blur``: the third group blurred, sigma = 2 px;
(e) ``poisson-gauss``: the third group re-imaged with Poisson noise of ``PEAK_PHOTONS`` at
    intensity 1 plus Gaussian read noise ``READ_NOISE``;
(f) ``drop-class``: the third group without one morphology class (labelled data only).

Required: (a) inside its floor interval on every headline metric and first among the
non-copiers; (b) flagged copying and ranked below (a); (c) flagged collapsed; (d)-(f) outside
the floor interval on at least one headline metric.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from analysis.extractors.ssl import gaussian_blur
from analysis.protocol.ranking import rank_results
from analysis.protocol.roles import Role, make_role, split_by_movie
from analysis.protocol.score import Protocol

NOISE_COPY = 0.01
REPEAT_K = 5
BLUR_SIGMA_PX = 2.0
PEAK_PHOTONS, READ_NOISE = 10.0, 0.05
DROP_CLASS = "fragmented"


@dataclass
class Movies:
    """Real frames ``x`` ``(N, 1, S, S)`` float32 [0, 1], ``movie_ids`` ``(N,)`` str, ``labels``
    ``(N,)`` str per-movie class or None."""

    name: str
    x: np.ndarray
    movie_ids: np.ndarray
    labels: np.ndarray | None = None


def _normalize(stack: np.ndarray) -> np.ndarray:
    """One movie (T, Y, X) to [0, 1] by its 1st / 99.8th percentiles (like the ``normalize`` op)."""
    lo, hi = np.percentile(stack, [1, 99.8])
    return np.clip((stack.astype(np.float32) - lo) / (hi - lo + 1e-6), 0, 1)


def simulator_movies(per_class: int = 6, frames: int = 8, size: int = 64, seed: int = 0) -> Movies:
    """``per_class`` simulator movies of each class, ``frames`` frames of ``size`` px, in memory."""
    from preprocessing.simulator import SimParams, list_classes
    from preprocessing.simulator.core import simulate_movie

    classes = [c for c in sorted(list_classes()) for _ in range(per_class)]
    xs, ids, labels = [], [], []
    for i, cls in enumerate(classes):
        xs.append(_normalize(simulate_movie(cls, SimParams(), frames, (size, size), seed, i)[0]))
        ids += [f"movie_{i:03d}"] * frames
        labels += [cls] * frames
    return Movies("simulator", np.concatenate(xs)[:, None], np.array(ids), np.array(labels))


HELA_TIF = "hela-mitotracker-movie/Movie28_Actin_inhibitors_gray_TYX.tif"
HELA_PANELS = [(80, 100, 360, 320), (420, 100, 740, 320), (780, 100, 1080, 320)]  # data README
MIN_TILE_P99 = 0.25  # a tile whose 99th percentile (panel scale) is below this is background


def hela_movies(data_dir, size: int = 64, tile_px: int = 90, step: int = 4) -> Movies | None:
    """The HeLa movie as tile-movies: each panel (normalised as one movie) cut into a grid of
    ``tile_px`` squares (3 x 2 per panel), background tiles (99th percentile below
    ``MIN_TILE_P99``) dropped, every ``step``-th frame, area-resized to ``size``; label = panel.
    None when the file is absent.

    Why tiles: the file holds 3 panels (3 movies); a verdict needs >= 2 held-out movies and the
    ladder a third group, so each panel's tiles stand in for independent movies (they share a
    cell population and its bleaching: less independent than separate dishes).
    """
    import cv2
    import tifffile

    src = Path(data_dir) / HELA_TIF
    if not src.is_file():
        return None
    stack = tifffile.imread(src)[::step]  # (T, Y, X) uint8
    xs, ids, labels = [], [], []
    for p, (x0, y0, x1, y1) in enumerate(HELA_PANELS):
        panel = _normalize(stack[:, y0:y1, x0:x1])  # the panel is the real movie: one scale
        for ty in range((y1 - y0) // tile_px):
            for tx in range((x1 - x0) // tile_px):
                tile = panel[:, ty * tile_px:(ty + 1) * tile_px, tx * tile_px:(tx + 1) * tile_px]
                if np.percentile(tile, 99) < MIN_TILE_P99:
                    continue  # background: no mitochondria in this corner of the panel
                xs.append(np.stack([cv2.resize(f, (size, size), interpolation=cv2.INTER_AREA) for f in tile]))
                ids += [f"panel{p}-y{ty}x{tx}"] * len(tile)
                labels += [f"panel{p}"] * len(tile)
    return Movies(f"HeLa MitoTracker ({len(xs)} tiles of 3 panels)", np.clip(np.concatenate(xs), 0, 1)[:, None],
                  np.array(ids), np.array(labels))


def three_way(movies: Movies, seed: int = 0) -> tuple[Role, Role, Role]:
    """(train, held-out, third group) roles, each a third of the movies, stratified by label."""
    first = split_by_movie(movies.movie_ids, movies.labels, 1 / 3, seed)
    rest = ~first.is_heldout(movies.movie_ids)
    second = split_by_movie(movies.movie_ids[rest], None if movies.labels is None else movies.labels[rest],
                            0.5, seed + 1)
    is_third = np.isin(movies.movie_ids, second.heldout)
    is_held = first.is_heldout(movies.movie_ids)
    role = lambda name, m: make_role(name, movies.x[m], movies.movie_ids[m],  # noqa: E731
                                     None if movies.labels is None else movies.labels[m])
    return role("train", rest & ~is_third), role("heldout", is_held), role("third", is_third)


def planted(train: Role, third: Role, labels_third: np.ndarray | None, seed: int = 0) -> dict[str, Role]:
    """The rungs' samples (see the module docstring), by rung name."""
    rng = np.random.default_rng(seed)
    x = third.x
    out = {"a heldout-movies": third,
           "b train+noise": Role("b", np.clip(train.x + rng.normal(0, NOISE_COPY, train.x.shape), 0, 1)
                                 .astype(np.float32), train.units),
           "c repeat-5": make_role("c", x[np.repeat(np.linspace(0, len(x) - 1, REPEAT_K).round().astype(int),
                                                    -(-len(x) // REPEAT_K))[:len(x)]]),
           "d blur": Role("d", gaussian_blur(torch.from_numpy(x), BLUR_SIGMA_PX).numpy(), third.units),
           "e poisson-gauss": Role("e", np.clip(rng.poisson(x * PEAK_PHOTONS) / PEAK_PHOTONS
                                                + rng.normal(0, READ_NOISE, x.shape), 0, 1).astype(np.float32),
                                   third.units)}
    if labels_third is not None and DROP_CLASS in set(labels_third):
        out["f drop-class"] = third.subset(np.flatnonzero(labels_third != DROP_CLASS))
    return out


def run_ladder(movies: Movies, *, extractor="mito-ssl", workspace=None, seed: int = 0, **kw) -> dict:
    """Score every rung; returns ``results`` (rung -> score result), ``ranking`` (see
    :func:`rank_results`), ``checks`` (requirement -> bool) and ``metric_failures``
    (metric -> rungs whose requirement it breaks)."""
    train, held, third = three_way(movies, seed)
    labels = None if movies.labels is None else movies.labels[np.isin(movies.movie_ids, third.units)]
    proto = Protocol(train, held, extractor=extractor, workspace=workspace, seed=seed, **kw)
    rungs = planted(train, third, labels, seed)
    results = {name: proto.score(s) for name, s in rungs.items()}
    # the suite's one distinct-frame count, at the same N: k repeated frames, and real frames
    distinct = {name: proto.distinct.count(proto.features(rungs[name].x))
                for name in ("c repeat-5", "a heldout-movies")}
    out = {"name": movies.name, "results": results, "ranking": rank_results(results),
           "distinct": {**distinct, "n": len(third.x)}, **ladder_checks(results)}
    out["checks"]["c distinct count ≈ 5 (± 25%)"] = abs(distinct["c repeat-5"] - REPEAT_K) <= 0.25 * REPEAT_K
    return out


def ladder_checks(results: dict) -> dict:
    """The ladder's requirements on ``results`` (rung -> score result)."""
    a = results["a heldout-movies"]
    head = a["headline"]
    order = [r["name"] for r in rank_results(results)]
    clean = [n for n in order if not results[n]["verdict"]["copying"]]
    checks = {"a inside floor on every headline metric": all(a["verdict"]["within_floor"][k] for k in head),
              "a first among non-copiers": bool(clean) and clean[0] == "a heldout-movies",
              "b flagged copying": results["b train+noise"]["verdict"]["copying"],
              "b ranks below a": order.index("b train+noise") > order.index("a heldout-movies"),
              "c flagged collapsed": results["c repeat-5"]["verdict"]["collapsed"]}
    for name in ("d blur", "e poisson-gauss", "f drop-class"):
        if name in results:
            checks[f"{name[0]} outside floor"] = not all(results[name]["verdict"]["within_floor"][k] for k in head)
    failures = {k: ["a"] for k in a["metrics"] if not a["verdict"]["within_floor"][k]}
    return {"checks": checks, "metric_failures": failures}


def format_ladder(ladder: dict, metrics: list[str] | None = None) -> str:
    """The ladder as a table: per rung N, rank, objective, flags, and per metric the value with
    ``*`` when outside the floor interval, and below it the floor [95% interval]."""
    res = ladder["results"]
    first = next(iter(res.values()))
    metrics = metrics or list(first["metrics"])
    rank = {r["name"]: r["rank"] for r in ladder["ranking"]}
    n = first["n"]
    g = lambda x: f"{x:.3g}"  # noqa: E731
    lines = [f"{ladder['name']}: train {n['train']['frames']} frames / {n['train']['movies']} movies, "
             f"held-out {n['heldout']['frames']} / {n['heldout']['movies']}; extractor {first['extractor']}; "
             f"{first['ci_method']}; * = outside the floor interval; headline: {', '.join(first['headline'])}",
             f"{'rung':<18}{'N':>4}{'rank':>5}{'obj':>7} {'copy':<5}{'coll':<5}" + "".join(f"{m:>19}" for m in metrics)]
    for name, r in res.items():
        w = r["verdict"]["within_floor"]
        lines.append(f"{name:<18}{r['n']['samples']['frames']:>4}{rank[name]:>5}{r['objective']:>7.2f} "
                     f"{'yes' if r['verdict']['copying'] else '-':<5}{'yes' if r['verdict']['collapsed'] else '-':<5}"
                     + "".join(f"{g(r['metrics'][m]) + ('*' if not w[m] else ' '):>19}" for m in metrics))
        lines.append(f"{'  floor [95%]':<44}" + "".join(
            f"{g(r['floor'][m])} [{g(r['floor_ci'][m][0])},{g(r['floor_ci'][m][1])}]".rjust(19) for m in metrics))
    d = ladder.get("distinct")
    if d:
        lines.append(f"distinct frames (Vendi, features standardised by the real frames) at N = {d['n']}: "
                     f"{REPEAT_K} frames repeated {d['c repeat-5']:.2f}; real held-out-like movies "
                     f"{d['a heldout-movies']:.1f}")
    lines += [f"{'PASS' if ok else 'FAIL'}  {check}" for check, ok in ladder["checks"].items()]
    lines += [f"metric {m} fails rung(s) {', '.join(r)}" + (": left out of the headline" if m in first["headline"]
              else " (not a headline metric)") for m, r in ladder["metric_failures"].items()]
    lines += ["outside its floor on: " + "; ".join(
        f"{m} " + (",".join(n.split()[0] for n, r in res.items() if not r["verdict"]["within_floor"][m]) or "-")
        for m in metrics)]
    return "\n".join(lines)


def main(argv=None) -> int:
    """``python -m analysis.protocol.ladder [--data DIR]``: print the ladder on the simulator
    and, when DIR holds it, on the HeLa movie (until ``mitogan validate-metrics`` calls it)."""
    import argparse
    import tempfile

    ap = argparse.ArgumentParser(prog="python -m analysis.protocol.ladder")
    ap.add_argument("--data", default=None, help="real data folder (../shared/data)")
    ap.add_argument("--n-boot", type=int, default=None, help="bootstrap replicates (default: the protocol's)")
    args = ap.parse_args(argv)
    kw = {} if args.n_boot is None else {"n_boot": args.n_boot}
    sets = [simulator_movies(per_class=9, frames=12)]
    if args.data and (hela := hela_movies(args.data)) is not None:
        sets.append(hela)
    with tempfile.TemporaryDirectory() as ws:
        for movies in sets:
            print(format_ladder(run_ladder(movies, workspace=ws, **kw)), end="\n\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
