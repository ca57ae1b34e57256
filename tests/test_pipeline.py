"""Pipelines: spec parsing and canonical keys, the cache, the split by movie, the CLI."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from bench.errors import MitoError
from preprocessing.pipeline import Pipeline, prepare, prepare_split
from tests.conftest import cells_dataset


@pytest.fixture
def dataset(workspace, tmp_path):
    return cells_dataset(tmp_path, workspace, frames=5)


def test_string_and_yaml_specs_share_one_canonical_key():
    a = Pipeline.parse("register|normalize(p_low=1,p_high=99.8)|nlm(h=8)|laplacian")
    b = Pipeline.parse(["register", {"normalize": {"p_high": 99.8, "p_low": 1}}, {"nlm": {"h": 8.0}},
                        "laplacian", "resize"])
    assert a.canonical() == b.canonical() and a.key("h", 64) == b.key("h", 64)
    assert a.key("h", 64) != a.key("h", 32) != a.key("other", 64)
    assert a.steps[-1][0] == "resize"  # geometry appended
    assert Pipeline.parse("nlm(h=9)").key("h", 64) != Pipeline.parse("nlm").key("h", 64)


@pytest.mark.parametrize("spec,fragment", [
    ("nlm(h=8", "cannot parse"), ("blur", "unknown op"), ("nlm(strength=3)", "unknown parameter"),
    ("resize|nlm", "must be the last"), ("nlm(h=abc)", "not a float"), ("", "cannot parse"),
])
def test_bad_specs_name_the_problem(spec, fragment):
    with pytest.raises(MitoError, match=fragment):
        Pipeline.parse(spec)


def test_prepare_caches_and_splits_by_movie(dataset, workspace):
    first = prepare(dataset, "normalize|gaussian(sigma_px=1)", 32, workspace, progress=False)
    assert not first.cache_hit and first.x.shape == (20, 1, 32, 32) and first.x.dtype == np.float32
    again = prepare(dataset, ["normalize", {"gaussian": {"sigma_px": 1.0}}], 32, workspace, progress=False)
    assert again.cache_hit and again.key == first.key
    np.testing.assert_array_equal(again.x, first.x)
    train, held = prepare_split(dataset, "normalize|gaussian(sigma_px=1)", 32, workspace, 0.25)
    assert len(train.x) == 10 and len(held.x) == 10  # 4 movies: 2 held out, the least a verdict needs
    assert not set(train.movie_ids) & set(held.movie_ids)
    assert list(workspace.glob("cache/preprocess/.tmp-*")) == []


def test_movies_a_pipeline_empties_are_left_out_of_the_split(workspace, tmp_path):
    # 4 movies of tubes and one dark movie (sensor noise only, no structure): tile(min_fg) keeps
    # no tile of it. Split among the 5, some seeds would hold the dark movie out and leave the
    # verdict one held-out movie short; split among the 4 that have frames, 2 are always held out.
    import tifffile

    from preprocessing.ingest import import_dataset
    from preprocessing.split import split_by_movie
    from tests.conftest import movie
    paths = []
    for i in range(5):
        frames = movie(3, 48, seed=i) if i < 4 else np.zeros((3, 48, 48), np.float32)
        paths.append(tmp_path / f"m{i}.tif")
        tifffile.imwrite(paths[-1], (frames * 4000 + 100).astype(np.uint16), photometric="minisblack")
    ds = import_dataset(paths, "gappy", workspace, progress=False)
    spec = "normalize|tile(stride_px=16, min_fg=0.05)"
    prep = prepare(ds, spec, 16, workspace, progress=False)
    dark = ds.movie_ids[4]
    assert dark not in set(prep.movie_ids) and len(set(prep.movie_ids)) == 4
    held_dark = 0
    for seed in range(8):
        train, held = prepare_split(ds, spec, 16, workspace, 0.25, seed=seed, progress=False)
        expected = split_by_movie(sorted(set(prep.movie_ids)), None, 0.25, seed)
        assert tuple(sorted(set(held.movie_ids))) == expected.heldout
        assert tuple(sorted(set(train.movie_ids))) == expected.train
        held_dark += dark in ds.split(0.25, seed)[1]  # the split of all 5 movies, for contrast
    assert held_dark > 0  # the old split (over every movie) did hold the dark movie out


def test_cli_preprocess_reports_cache_hit_and_writes_contact_sheet(dataset, workspace):
    cmd = [sys.executable, "-m", "bench.cli", "preprocess", "--dataset", "cells", "--pipeline",
           "register|normalize|nlm(h=8)|laplacian", "--size", "32"]
    first = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    second = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    assert first.startswith("computed") and second.startswith("cache hit")
    sheet = next(workspace.glob("cache/preprocess/*/contact.png"))
    assert sheet.stat().st_size > 1000
    bad = subprocess.run(cmd[:-4] + ["--pipeline", "nlm(h=8", "--size", "32"], capture_output=True, text=True)
    assert bad.returncode == 2 and "cannot parse" in bad.stderr
