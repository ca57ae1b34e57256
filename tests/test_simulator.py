"""The simulator: determinism, ground truth vs. rendered signal, classes, pearling, drift, import."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest
import tifffile
from scipy import ndimage as ndi

from bench.cli import main
from bench.errors import MitoError
from preprocessing import ops
from preprocessing.simulator import SimParams, allocate_classes, load_ground_truth, simulate
from preprocessing.simulator.geometry import get_class, list_classes, register_class

STATIC = dict(network_speed_um_s=0.0, fragment_speed_um_s=0.0, fission_rate_per_um_s=0.0, fusion_prob_per_s=0.0)


def _files(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_same_seed_same_bytes(tmp_path):
    kw = dict(movies=2, frames=4, size_yx=(48, 40), classes={"tubular": 1, "pearled": 1}, progress=False)
    simulate(tmp_path / "a", seed=7, **kw)
    simulate(tmp_path / "b", seed=7, **kw)
    simulate(tmp_path / "c", seed=8, **kw)
    a, b, c = _files(tmp_path / "a"), _files(tmp_path / "b"), _files(tmp_path / "c")
    assert set(a) == {f"movie_00{i}{ext}" for i in range(2) for ext in (".tif", ".gt.npz", ".gt.json")}
    assert a == b
    assert a["movie_000.tif"] != c["movie_000.tif"]


@pytest.mark.parametrize("cls", list_classes())
def test_every_class_builds_valid_structures(cls):
    p = SimParams()
    fov = (64 * p.pixel_size_um, 64 * p.pixel_size_um)
    branches = get_class(cls)(np.random.default_rng(0), p, fov, 20.0)
    assert branches and all(b.sid >= 1 and len(b.pts) >= 2 for b in branches)
    for b in branches:
        assert (b.r0 > 0).all() and np.isfinite(b.pts).all()
        for end, ref in enumerate(b.attach):  # an attached end sits on its parent point, same structure
            if ref is not None:
                assert ref[0].sid == b.sid and np.allclose(b.pts[-end], ref[0].pts[ref[1]])
    length = sum(b.length_um for b in branches)
    assert length >= 0.5 * p.density_um_per_um2 * fov[0] * fov[1]


def test_register_class_refuses_duplicates():
    with pytest.raises(ValueError):
        register_class("tubular")(lambda *a: [])


def test_ground_truth_matches_rendered_signal(tmp_path):
    paths = simulate(tmp_path, movies=4, frames=5, size_yx=(64, 64), seed=1,
                     classes={c: 1 for c in list_classes()}, progress=False)
    for path in paths:
        gt, meta = load_ground_truth(path)
        movie = tifffile.imread(path).astype(np.float32)  # (T, Y, X)
        for t in range(5):
            clean, mask = gt["clean"][t], gt["mask"][t]
            bright = clean >= 0.5 * clean.max()
            assert mask[bright].mean() >= 0.95, (meta["class"], t)
            assert not (gt["skeleton"][t] & ~mask).any()
            assert not ((gt["branch_points"][t] | gt["tips"][t] | gt["beads"][t]) & ~mask).any()
            assert np.array_equal(gt["structure_labels"][t] > 0, mask)
            # the camera image is brighter on the mask than off it (same signal, not just GT)
            assert movie[t][mask].mean() > movie[t][~mask].mean() + 5 * movie[t][~mask].std() / math.sqrt(mask.sum())
        assert set(np.unique(gt["structure_labels"])) - {0} <= {int(k) for k in meta["structures"]}


def test_class_proportions_largest_remainder(tmp_path):
    shares = {"tubular": 0.4, "fragmented": 0.3, "pearled": 0.3}
    labels = allocate_classes(shares, 7, seed=0)  # quotas 2.8, 2.1, 2.1
    assert sorted(labels) == sorted(["tubular"] * 3 + ["fragmented"] * 2 + ["pearled"] * 2)
    assert sorted(allocate_classes(shares, 10, seed=3)).count("tubular") == 4
    with pytest.raises(MitoError):
        allocate_classes({"spaghetti": 1.0}, 3, seed=0)
    paths = simulate(tmp_path, movies=3, frames=2, size_yx=(32, 32), seed=0, classes=shares, progress=False)
    written = sorted(load_ground_truth(p)[1]["class"] for p in paths)
    assert written == sorted(allocate_classes(shares, 3, seed=0)) == ["fragmented", "pearled", "tubular"]


def test_pearling_beads_at_expected_spacing_and_recovers(tmp_path):
    p = SimParams(**STATIC, pearling_fraction=1.0, pearl_ramp_s=2.0, pearl_hold_s=6.0, drift_um_per_s=0.0,
                  drift_trend_um_per_s=0.0, branch_length_um=(6.0, 8.0))
    [path] = simulate(tmp_path, movies=1, frames=24, size_yx=(96, 96), seed=2, classes={"pearled": 1},
                      params=p, progress=False)
    gt, meta = load_ground_truth(path)
    starts = [e for e in meta["events"] if e["type"] == "pearling_start"]
    ends = [e for e in meta["events"] if e["type"] == "pearling_end"]
    assert starts and len(ends) == len(starts)
    t_full = max(e["t"] for e in starts) + 2  # every pearling tubule is fully beaded here
    assert gt["beads"][t_full].any() and not gt["beads"][0].any()
    assert not gt["beads"][-1].any() and max(e["t"] for e in ends) < 24  # recovered
    labels, n = ndi.label(gt["beads"][t_full])
    centres = np.array(ndi.center_of_mass(gt["clean"][t_full], labels, range(1, n + 1)))  # (n, 2)
    d = np.hypot(*(centres[:, None] - centres[None]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    nn = np.sort(d.min(1))
    expected_px = np.array([e["spacing_um"] for e in starts]) / p.pixel_size_um
    assert abs(np.median(nn) - np.median(expected_px)) < 0.2 * np.median(expected_px)
    # the rendered signal beads: pearl centres far brighter than the necks between neighbours
    clean = gt["clean"][t_full]
    j = d.argmin(1)
    mids = np.rint((centres + centres[j]) / 2).astype(int)
    peaks = ndi.maximum(clean, labels, range(1, n + 1))
    assert np.median(peaks / np.maximum(clean[mids[:, 0], mids[:, 1]], 1e-6)) > 2.0
    # after recovery the same tubules are smooth again: no pearl-like contrast along the skeleton
    last = gt["clean"][-1][gt["skeleton"][-1]]
    assert np.percentile(last, 90) / np.percentile(last, 10) < np.median(peaks / clean[mids[:, 0], mids[:, 1]])


def test_fission_and_fusion_events_match_the_labels(tmp_path):
    p = SimParams(fission_rate_per_um_s=0.05, fusion_prob_per_s=0.5, fusion_distance_um=0.5,
                  fragment_speed_um_s=0.3, drift_um_per_s=0.0, drift_trend_um_per_s=0.0)
    [path] = simulate(tmp_path, movies=1, frames=10, size_yx=(96, 96), seed=5, classes={"tubular": 1},
                      params=p, progress=False)
    gt, meta = load_ground_truth(path)
    kinds = [e["type"] for e in meta["events"]]
    assert kinds.count("fission") >= 2 and kinds.count("fusion") >= 1
    labels = gt["structure_labels"]
    for ev in meta["events"]:
        t, (x, y) = ev["t"], np.rint(ev["xy"]).astype(int)
        if ev["type"] == "fission":  # a child of the cut structure is born at t, or the cut closed a loop
            children = [int(c) for c, info in meta["structures"].items()
                        if info["born_t"] == t and info["parent"] == ev["structure"]]
            assert not np.isin(labels[:t], children).any()
        if ev["type"] == "fusion":  # the absorbed id is gone from then on; the joint is on the mask
            assert ev["absorbed"] not in np.unique(labels[t:])
            if 0 <= x < 96 and 0 <= y < 96:
                assert ev["structure"] in labels[t][max(y - 1, 0):y + 2, max(x - 1, 0):x + 2]
    seen = [c for ev in meta["events"] if ev["type"] == "fission" for c, info in meta["structures"].items()
            if info["parent"] == ev["structure"] and info["born_t"] == ev["t"] and int(c) in labels[ev["t"]]]
    assert seen  # new structures made by fission are drawn with their new id


def test_recorded_drift_is_the_applied_drift(tmp_path):
    p = SimParams(**STATIC, drift_um_per_s=0.08, drift_trend_um_per_s=0.05)
    [path] = simulate(tmp_path, movies=1, frames=6, size_yx=(96, 96), seed=3, classes={"hyperfused": 1},
                      params=p, progress=False)
    _, meta = load_ground_truth(path)
    movie = tifffile.imread(path).astype(np.float32)
    frames = (movie - movie.min()) / (movie.max() - movie.min())  # (T, Y, X) in [0, 1]
    truth = np.array(meta["drift_px"])  # (T, 2) (dy, dx)
    assert np.abs(truth[-1]).max() > 1.0  # a drift worth recovering
    est = ops.estimate_drift(frames)
    assert np.abs(est - truth).max() < 0.3
    registered = ops.get_op("register")(frames)  # undoes the drift: frames now match frame 0
    err_before = np.abs(frames[-1] - frames[0]).mean()
    assert np.abs(registered[-1, 8:-8, 8:-8] - registered[0, 8:-8, 8:-8]).mean() < 0.8 * err_before


def test_cli_import_uses_the_tiff_path_and_keeps_ground_truth(workspace, capsys):
    rc = main(["data", "simulate", "--name", "sim", "--movies", "2", "--frames", "3", "--size", "40,48",
               "--classes", "fragmented=1,tubular=1", "--seed", "4", "--import"])
    assert rc == 0
    from preprocessing.dataset import Dataset
    from preprocessing.ingest import import_dataset
    ds = Dataset.load("sim", workspace)
    assert [m["shape"] for m in ds.movies] == [[40, 48]] * 2
    paths = [m["source"] for m in ds.movies]
    plain = import_dataset(paths, "plain", workspace, progress=False)  # what a user's TIFFs get
    for m, pm in zip(ds.movies, plain.movies):
        assert m["meta"]["simulated"] is True
        gt_meta = json.loads(open(m["meta"]["ground_truth"]).read())
        assert m["meta"]["class"] == gt_meta["class"] and gt_meta["frames"] == 3
        np.testing.assert_array_equal(ds.frames(m["id"]), plain.frames(pm["id"]))
    assert (workspace / "simulated" / "sim" / "movie_001.gt.npz").is_file()


@pytest.mark.parametrize("argv, where", [
    (["--classes", "tubular=lots"], "--classes"),
    (["--size", "12,x"], "--size"),
    (["--param", "psf_sigma_um=-1"], "SimParams"),
    (["--param", "no_such_param=1"], "SimParams"),
])
def test_cli_bad_input_is_one_line_error(workspace, capsys, argv, where):
    assert main(["data", "simulate", "--name", "bad", "--frames", "2", "--size", "32", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: {where}") and "\n" not in err
    assert not (workspace / "simulated" / "bad").exists() or not any((workspace / "simulated" / "bad").iterdir())
