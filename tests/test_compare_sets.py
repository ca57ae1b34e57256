"""``mitogan compare-sets TRAIN FAKE --heldout HELDOUT``, end to end in a subprocess on folders
of simulator frames (sub-folders = movies): a copy of TRAIN is flagged copying, new movies of
the population are not and sit within the floor; bad input is one line and exit 2 (in-process)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from analysis.protocol.ladder import simulator_movies
from analysis.protocol.score import HEADLINE

PER_CLASS, FRAMES = 6, 4  # 4 classes x 6 movies: 8 movies (2 per class) per role, 32 frames each
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    """Folders train/, held/, new/ of 16-bit PNGs, one sub-folder per movie, split by class."""
    root = tmp_path_factory.mktemp("compare-sets")
    m = simulator_movies(per_class=PER_CLASS, frames=FRAMES, size=64, seed=0)
    ids = np.unique(m.movie_ids)  # class-major: movie i has class i // PER_CLASS
    for r, role in enumerate(["train", "held", "new"]):
        for i in (i for i in range(len(ids)) if i % PER_CLASS % 3 == r):
            d = root / role / ids[i]
            d.mkdir(parents=True)
            for t, f in enumerate(m.x[m.movie_ids == ids[i]][:, 0]):
                cv2.imwrite(str(d / f"t{t:02d}.png"), (f * 65535).round().astype(np.uint16))
    held = sorted((root / "held").iterdir())
    for name, src in (("one-movie", held[:1]), ("small", held[:3])):  # 1 and 3 held-out movies
        for d in src:
            (root / name / d.name).mkdir(parents=True)
            for p in d.iterdir():
                (root / name / d.name / p.name).write_bytes(p.read_bytes())
    (root / "few").mkdir()
    (root / "few" / "t.png").write_bytes(next(held[0].iterdir()).read_bytes())  # a single frame
    return root


def cli(ws, *args):
    p = subprocess.run([sys.executable, "-m", "bench.cli", "--workspace", str(ws), "compare-sets", *map(str, args)],
                       cwd=ROOT, capture_output=True, text=True, timeout=600)
    return p.returncode, p.stdout, p.stderr


def _score(sets, fake, *extra):
    out = sets / f"{fake}.json"
    rc, stdout, err = cli(sets / "ws", sets / "train", sets / fake, "--heldout", sets / "held",
                          "--n-boot", 30, "--json", out, *extra)
    assert rc == 0, err
    return json.loads(out.read_text()), stdout


def test_copy_of_train_is_copying_and_scores_the_floor(sets):
    res, out = _score(sets, "train", "--no-morphology")
    v = res["verdict"]
    assert v["possible"] is True and v["copying"] is True and v["collapsed"] is False
    assert res["n"]["train"] == {"frames": 32, "movies": 8} and res["n"]["heldout"] == {"frames": 32, "movies": 8}
    assert res["n"]["samples"]["frames"] == 32 and res["n"]["samples"]["movies"] == 8
    # the floor IS train against held-out at the same N: a copy of TRAIN scores exactly it
    assert res["metrics"]["fid"] == pytest.approx(res["floor"]["fid"])
    assert res["metrics"]["copy_fraction"] == 1.0 > res["ci"]["copy_fraction"][0] - 1e-9 > res["floor"]["copy_fraction"]
    assert set(res["ci"]) == set(res["floor_ci"]) == set(res["metrics"]) == set(v["within_floor"])
    assert all(len(res["ci"][m]) == 2 and res["ci"][m][0] <= res["ci"][m][1] for m in res["ci"])
    assert "copying TRAIN: YES" in out and "morph_fd" not in res["metrics"]


def test_new_movies_of_the_population_are_within_the_floor(sets):
    res, out = _score(sets, "new")
    v = res["verdict"]
    assert v["possible"] is True and v["copying"] is False and v["collapsed"] is False
    head = [m for m in HEADLINE if m in res["metrics"]]
    assert "morph_fd" in head and all(v["within_floor"][m] for m in head), v["within_floor"]
    lines = {ln.split()[0]: ln for ln in out.splitlines() if ln.split() and ln.split()[0] in res["metrics"]}
    assert all(lines[m].endswith("within floor") for m in head), out
    fid = res["ci"]["fid"]
    assert f"{res['metrics']['fid']:.4g} [{fid[0]:.4g}, {fid[1]:.4g}]" in lines["fid"]
    assert "copying TRAIN: no" in out


def test_one_heldout_movie_reports_that_no_verdict_is_possible(sets):
    out = sets / "one.json"
    rc, stdout, err = cli(sets / "ws", sets / "train", sets / "new", "--heldout", sets / "one-movie",
                          "--n-boot", 10, "--json", out, "--no-morphology")
    assert rc == 0, err
    res = json.loads(out.read_text())
    assert res["verdict"]["possible"] is False and res["verdict"]["copying"] is None and res["ci"] is None
    assert "1 held-out" in res["verdict"]["reason"] and "no verdict possible: 1 held-out" in stdout
    assert "within floor" not in stdout and "BEYOND" not in stdout  # no number passed off as a verdict


def test_without_heldout_keeps_the_two_set_comparison_and_says_why_no_verdict(sets):
    out = sets / "two.json"  # TRAIN of 3 movies: few real-vs-real halvings, fast
    rc, stdout, err = cli(sets / "ws", sets / "small", sets / "new", "--json", out, "--no-morphology")
    assert rc == 0, err
    res = json.loads(out.read_text())
    assert res["n_real"] == 12 and res["n_fake"] == 32 and "fid" in res["floor"]
    assert res["verdict"] == {"possible": False, "reason": res["verdict"]["reason"], "copying": None,
                              "collapsed": None, "within_floor": {}}
    assert "no memorisation verdict possible without --heldout" in stdout


@pytest.mark.parametrize("args, message", [
    (("train", "new", "--n-boot", "3"), "--n-boot: must be at least 10"),
    (("train", "new", "--n-boot", "20"), "--n-boot: intervals over movies need --heldout"),
    (("train", "new", "--heldout", "train"), "--heldout: is TRAIN itself"),
    (("train", "new", "--heldout", "nope"), "no such data set"),
    (("train", "few", "--heldout", "held"), "1 frame(s): the protocol needs at least 2"),
])
def test_bad_input_is_one_line_and_exit_2(sets, args, message, capsys):
    from bench.cli import main  # in-process: the same code path, without 5 interpreter starts

    out = sets / "bad.json"
    argv = [str(sets / a) if a[0].isalpha() and not a.isdigit() else a for a in args]
    rc = main(["--workspace", str(sets / "ws"), "compare-sets", *argv, "--json", str(out)])
    lines = [ln for ln in capsys.readouterr().err.splitlines() if not ln.startswith("notice:")]
    assert rc == 2 and len(lines) == 1 and message in lines[0], lines
    assert not out.exists()
