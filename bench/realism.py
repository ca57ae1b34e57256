"""How real do simulated movies look? Measured statistics, real HeLa movie vs. the simulator.

    python -m bench.realism --out DIR [--frames 60] [--size 256] [--seed 0] [--every 2]

Real: the HeLa MitoTracker movie in ``../shared/data/hela-mitotracker-movie/`` (TIF stack, uint8),
its three panel ROIs; burned-in overlays (pixels whose temporal std < 3 while their minimum > 60,
i.e. the arrows; plain black background also never changes and is kept) are set to the frame's
median and left out of every statistic. Simulated: one movie per morphology class with the
default ``SimParams``. Both go through the project's one segmentation
(``analysis.morphology.segment`` / ``skeleton_parts`` / ``geometric_masks``). Per frame:

- ``tubule_width_px``: median over skeleton pixels of 2 x the distance transform of the mask.
- ``signal_to_background``: mean foreground / mean background (pixels > 3 px from foreground),
  both above the movie's black level (its 0.1th percentile).
- ``noise_level``: std over background of (frame - 3x3 median of frame), / mean foreground signal.
- ``foreground_fraction``: share of (valid) pixels in the mask.
- ``branch_points_per_100um2`` / ``tips_per_100um2``: junctions (8-connected clusters) and tips.
- ``bead_spacing_um``: median nearest-neighbour distance of bead centres (frames with >= 3 beads);
  the simulated value pools the pearled movie only (pearling is what it measures).

Pixel sizes: the HeLa movie has no metadata; its 10 µm scale bars measure 52 px (panel A) and
90 / 89 px (panels B / C), so 0.192, 0.111 and 0.112 µm/px are assumed. The simulator's is known.
Writes ``realism.png`` (side by side), ``realism.md`` and ``realism.json``.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from scipy import ndimage as ndi

from bench.commands.validate import DATA_DIR
from bench.errors import MitoError
from preprocessing.simulator.params import SimParams

UM_PER_PX = {"A": 10 / 52, "B": 10 / 90, "C": 10 / 89}  # the panels' scale bars
STATS = ("tubule_width_px", "signal_to_background", "noise_level", "foreground_fraction",
         "branch_points_per_100um2", "tips_per_100um2", "bead_spacing_um")


def frame_stats(img: np.ndarray, valid: np.ndarray, black: float, um_per_px: float) -> dict[str, float]:
    """Statistics of one frame (Y, X) float32 in [0, 1]; ``valid`` bool (Y, X) pixels to use."""
    from analysis.morphology import geometric_masks, skeleton_parts
    masks = geometric_masks(img)  # one segmentation for the foreground and the beads
    fg = masks["foreground"] & valid
    bg = valid & ~ndi.binary_dilation(fg, iterations=3)
    out = dict.fromkeys(STATS, float("nan"))
    out["foreground_fraction"] = float(fg[valid].mean())
    if fg.sum() < 20 or bg.sum() < 20:
        return out
    signal = float(img[fg].mean() - black)
    residual = img - ndi.median_filter(img, size=3)
    out["signal_to_background"] = signal / max(float(img[bg].mean() - black), 1e-3)
    out["noise_level"] = float(residual[bg].std()) / max(signal, 1e-6)
    parts = skeleton_parts(fg)
    edt = ndi.distance_transform_edt(fg)
    out["tubule_width_px"] = float(np.median(2 * edt[parts["skeleton"]]))
    area = valid.sum() * um_per_px ** 2 / 100.0  # in units of 100 µm²
    out["branch_points_per_100um2"] = ndi.label(parts["branch_points"], np.ones((3, 3)))[1] / area
    out["tips_per_100um2"] = float(parts["tips"].sum()) / area
    beads, n = ndi.label(masks["beads"] & valid)
    if n >= 3:
        c = np.array(ndi.center_of_mass(beads > 0, beads, range(1, n + 1)))  # (n, 2)
        d = np.hypot(*(c[:, None] - c[None]).transpose(2, 0, 1))
        np.fill_diagonal(d, np.inf)
        out["bead_spacing_um"] = float(np.median(d.min(1))) * um_per_px
    return out


def real_panels(every: int):
    """[(name, frames (T, Y, X) float32 [0, 1], valid (Y, X) bool, µm/px)] of the HeLa panels."""
    import tifffile
    from analysis.metrics.known_answers import HELA_ROIS, HELA_TIF  # lazy: it imports torch
    path = DATA_DIR / HELA_TIF
    if not path.is_file():
        raise MitoError(path, "real HeLa movie absent (../shared/data is not part of a fresh clone)")
    movie = tifffile.imread(path)[::every]  # (T, Y, X) uint8
    out = []
    for (name, um), (x0, y0, x1, y1) in zip(UM_PER_PX.items(), HELA_ROIS):
        crop = movie[:, y0:y1, x0:x1].astype(np.float32) / 255.0
        overlay = (crop.std(0) < 3 / 255) & (crop.min(0) > 60 / 255)
        valid = ~ndi.binary_dilation(overlay, iterations=2)
        crop[:, ~valid] = np.median(crop, axis=(1, 2))[:, None]
        out.append((f"real {name}", crop, valid, um))
    return out


def simulated_movies(frames: int, size: int, seed: int):
    """[(name, frames (T, Y, X) float32 [0, 1], valid, µm/px)]: one default movie per class."""
    from tqdm import tqdm
    from preprocessing.simulator import allocate_classes, list_classes
    from preprocessing.simulator.core import simulate_movie
    p, out = SimParams(), []
    labels = allocate_classes({c: 1 for c in list_classes()}, len(list_classes()), seed)
    with tqdm(total=len(labels) * frames, desc="simulate", unit="frame") as bar:
        for i, cls in enumerate(labels):
            raw = simulate_movie(cls, p, frames, (size, size), seed, i, bar)[0].astype(np.float32)
            lo, hi = np.percentile(raw, [0.1, 99.9])  # the import's contrast mapping for 16-bit data
            x = np.clip((raw - lo) / (hi - lo), 0, 1)
            out.append((f"sim {cls}", x, np.ones((size, size), bool), p.pixel_size_um))
    return out


def measure(movies) -> dict[str, dict[str, list[float]]]:
    """Per movie, per statistic: the values over frames."""
    from tqdm import tqdm
    result = {}
    for name, frames, valid, um in tqdm(movies, desc="measure", unit="movie"):
        black = float(np.percentile(frames[:, valid], 0.1))
        rows = [frame_stats(f, valid, black, um) for f in frames]
        result[name] = {k: [r[k] for r in rows] for k in STATS}
    return result


def summarize(values: dict[str, dict[str, list[float]]]) -> dict:
    """Per statistic: real range (min p5 .. max p95 over panels), per-movie medians, pass/fail."""
    table = {}
    for stat in STATS:
        per = {name: np.asarray(v[stat], float) for name, v in values.items()}
        per = {n: v[np.isfinite(v)] for n, v in per.items()}
        q = {n: [float(np.percentile(v, 5)), float(np.median(v)), float(np.percentile(v, 95))]
             for n, v in per.items() if len(v)}
        real = [q[n] for n in q if n.startswith("real")]
        lo, hi = min(r[0] for r in real), max(r[2] for r in real)
        sim_only = "pearled" if stat == "bead_spacing_um" else ""  # spacing: during pearling only
        sim_all = np.concatenate([v for n, v in per.items() if n.startswith("sim") and sim_only in n]
                                 or [np.array([])])
        sim_median = float(np.median(sim_all)) if len(sim_all) else float("nan")
        table[stat] = dict(real_range=[lo, hi], per_movie=q, sim_median=sim_median,
                           within=bool(lo <= sim_median <= hi))
    return table


def write_markdown(table: dict, path: Path) -> None:
    names = sorted({n for t in table.values() for n in t["per_movie"]}, key=lambda n: (not n.startswith("real"), n))
    lines = ["| statistic | " + " | ".join(names) + " | real range | sim median | within |",
             "|---" * (len(names) + 4) + "|"]
    for stat, t in table.items():
        cells = [f"{t['per_movie'][n][1]:.3g} [{t['per_movie'][n][0]:.3g}–{t['per_movie'][n][2]:.3g}]"
                 if n in t["per_movie"] else "–" for n in names]
        lines.append(f"| {stat} | " + " | ".join(cells) + f" | {t['real_range'][0]:.3g}–{t['real_range'][1]:.3g}"
                     f" | {t['sim_median']:.3g} | {'yes' if t['within'] else 'NO'} |")
    lines += ["", "Cells: median [p5–p95] over frames. Real range: min p5 .. max p95 over the three panels.",
              "Pixel sizes assumed from the HeLa scale bars: A 0.192, B 0.111, C 0.112 µm/px; simulator 0.11.",
              "Overlay pixels (temporal std < 3 and minimum > 60, 8-bit) are excluded.",
              "Sim median: pooled over all simulated movies; bead spacing over the pearled movie only "
              f"(ground truth: {SimParams().pearl_spacing_um:.3g} µm = 2π√2 × the median radius "
              f"{SimParams().tubule_radius_um} µm; per tubule radius varies)."]
    path.write_text("\n".join(lines) + "\n")


def figure(real, sim, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    items = [(n, f[len(f) // 2]) for n, f, _, _ in real] + [(n, f[len(f) // 2]) for n, f, _, _ in sim]
    fig, axes = plt.subplots(2, max(len(real), len(sim)), figsize=(3.2 * max(len(real), len(sim)), 6.6))
    for ax in axes.ravel():
        ax.axis("off")
    for i, (name, img) in enumerate(items):
        ax = axes[0, i] if i < len(real) else axes[1, i - len(real)]
        ax.imshow(img, cmap="gray", vmin=0, vmax=float(np.percentile(img, 99.9)) or 1.0)
        ax.set_title(f"{name} (middle frame)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, help="folder for realism.png / .md / .json")
    ap.add_argument("--frames", type=int, default=60, help="frames per simulated movie")
    ap.add_argument("--size", type=int, default=256, help="simulated frame size (px)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--every", type=int, default=2, help="use every n-th real frame")
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    real, sim = real_panels(args.every), simulated_movies(args.frames, args.size, args.seed)
    table = summarize(measure(real + sim))
    figure(real, sim, out / "realism.png")
    write_markdown(table, out / "realism.md")
    (out / "realism.json").write_text(json.dumps(table, indent=1))
    print((out / "realism.md").read_text())
    return 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except MitoError as err:
        print(f"error: {err}")
        raise SystemExit(2)
