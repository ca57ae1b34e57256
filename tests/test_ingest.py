"""Ingest: every format from files the tests make, the real data, and every bad-input case."""
from __future__ import annotations

import subprocess
import sys

import cv2
import numpy as np
import pytest
import tifffile

from bench.errors import MitoError
from preprocessing.dataset import Dataset, list_datasets
from preprocessing.ingest import import_dataset
from tests.conftest import HELA_ROIS

RNG = np.random.default_rng(0)


def _write(path, data, **kw):
    kw.setdefault("photometric", "minisblack")  # else tifffile stores a leading 3 as RGB planes
    tifffile.imwrite(path, data, **kw)


def _stack(shape, dtype=np.uint16, high=4000):
    return RNG.integers(100, high, size=shape).astype(dtype)


@pytest.mark.parametrize("shape,axes,n_frames", [
    ((32, 40), "YX", 1),
    ((5, 32, 40), "TYX", 5),
    ((3, 4, 32, 40), "TZYX", 3),
])
def test_tiff_stacks_become_tyx_frames(workspace, tmp_path, shape, axes, n_frames):
    data = _stack(shape)
    path = tmp_path / "m.tif"
    _write(path, data, metadata={"axes": axes})
    ds = import_dataset([path], "d", workspace, progress=False)
    frames = ds.frames(ds.movie_ids[0])
    assert frames.shape == (n_frames, 32, 40) and frames.dtype == np.float32
    assert frames.min() == 0.0 and frames.max() == 1.0  # auto: data set min..max → [0, 1]
    imported = (data.max(axis=1) if axes == "TZYX" else data).reshape(-1, 32, 40)  # z → max projection
    expected = (imported - imported.min()) / (imported.max() - imported.min())
    np.testing.assert_allclose(frames, expected, atol=1e-6)
    assert len(ds.manifest["frames"]) == n_frames


def test_z_slices_mean_and_channels(workspace, tmp_path):
    data = _stack((2, 3, 2, 16, 16))  # T Z C Y X
    path = tmp_path / "hyper.ome.tif"
    _write(path, data, ome=True, metadata={"axes": "TZCYX"})
    with pytest.raises(MitoError, match="--channel"):
        import_dataset([path], "nochan", workspace, progress=False)
    ds = import_dataset([path], "sl", workspace, channel=1, z="slices", intensity_range="0,4000",
                        progress=False)
    f = ds.frames(ds.movie_ids[0])
    assert f.shape == (6, 16, 16)
    np.testing.assert_allclose(f[4], data[1, 1, 1] / 4000.0, atol=1e-6)  # t=1, z=1
    assert [(r["frame_index"], r["z_index"]) for r in ds.manifest["frames"]][:3] == [(0, 0), (0, 1), (0, 2)]
    mean = import_dataset([path], "mean", workspace, channel=0, z="mean", intensity_range="0,4000",
                          progress=False)
    np.testing.assert_allclose(mean.frames(mean.movie_ids[0])[1], data[1, :, 0].mean(0) / 4000, atol=1e-5)


def test_8bit_float_gif_video_folder_and_several_paths(workspace, tmp_path):
    u8 = _stack((4, 24, 24), np.uint8, 255)
    _write(tmp_path / "a.tif", u8)
    fl = RNG.random((3, 24, 24)).astype(np.float32) * 5
    _write(tmp_path / "b.tif", fl)
    from PIL import Image
    Image.fromarray(u8[0]).save(tmp_path / "c.gif", save_all=True,
                                append_images=[Image.fromarray(f) for f in u8[1:]])
    writer = cv2.VideoWriter(str(tmp_path / "d.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 5, (24, 24), False)
    for f in u8:
        writer.write(f)
    writer.release()
    folder = tmp_path / "e"
    folder.mkdir()
    for i, f in enumerate(u8):  # natural order: frame_10 after frame_2
        cv2.imwrite(str(folder / f"frame_{i * 5}.png"), f)
    ds = import_dataset([tmp_path / n for n in ("a.tif", "c.gif", "d.avi", "e")], "u8",
                        workspace, progress=False)
    assert [m["n_frames"] for m in ds.movies] == [4, 4, 4, 4]
    np.testing.assert_allclose(ds.frames("a")[2], u8[2] / 255.0, atol=1e-6)
    np.testing.assert_allclose(ds.frames("c")[1], u8[1] / 255.0, atol=1e-6)
    np.testing.assert_allclose(ds.frames("e")[3], u8[3] / 255.0, atol=1e-6)
    assert np.abs(ds.frames("d") - u8 / 255.0).mean() < 0.1  # MJPG is lossy
    fds = import_dataset([tmp_path / "b.tif"], "float", workspace, progress=False)
    np.testing.assert_allclose(fds.frames("b"), (fl - fl.min()) / (fl.max() - fl.min()), atol=1e-5)
    assert {d.name for d in list_datasets(workspace)} == {"u8", "float"}


def test_roi_frames_percentile_and_rgb_luminance(workspace, tmp_path, capsys):
    data = _stack((6, 30, 40))
    _write(tmp_path / "m.tif", data)
    ds = import_dataset([tmp_path / "m.tif"], "r", workspace, rois=["0,0,20,30", "20,0,40,30"],
                        frames="1:4", intensity_range="p1,p99", progress=False)
    assert ds.movie_ids == ["m_roi0", "m_roi1"]
    assert ds.frames("m_roi1").shape == (3, 30, 20)
    assert ds.manifest["frames"][0]["frame_index"] == 1
    lo, hi = np.percentile(data[1:4, ::4, ::4], [1, 99])
    assert ds.manifest["intensity"]["low"] == pytest.approx(lo, rel=0.05)
    rgb = RNG.integers(0, 255, (2, 16, 16, 3)).astype(np.uint8)
    _write(tmp_path / "rgb.tif", rgb, photometric="rgb")
    d2 = import_dataset([tmp_path / "rgb.tif"], "rgb", workspace, progress=False)
    assert "converted to luminance" in capsys.readouterr().out
    np.testing.assert_allclose(d2.frames("rgb")[0], rgb[0] @ [0.299, 0.587, 0.114] / 255, atol=1e-4)
    d3 = import_dataset([tmp_path / "rgb.tif"], "green", workspace, channel=1, progress=False)
    np.testing.assert_allclose(d3.frames("rgb")[1], rgb[1, ..., 1] / 255, atol=1e-6)


def test_frames_step_keeps_every_kth_frame_and_spaces_the_interval(workspace, tmp_path):
    """The HeLa movie stores each time point twice: ``--frames 1::2`` keeps each once."""
    data = _stack((7, 16, 16))
    _write(tmp_path / "m.tif", data)
    ds = import_dataset([tmp_path / "m.tif"], "k", workspace, frames="1::2", frame_interval_s=0.5,
                        progress=False)
    assert [f["frame_index"] for f in ds.manifest["frames"]] == [1, 3, 5]
    assert ds.movies[0]["frame_interval_s"] == 1.0
    with pytest.raises(MitoError, match="a:b or a:b:step"):
        import_dataset([tmp_path / "m.tif"], "k0", workspace, frames="::0", progress=False)


def test_hash_follows_content(workspace, tmp_path):
    data = _stack((3, 16, 16))
    _write(tmp_path / "m.tif", data)
    h1 = import_dataset([tmp_path / "m.tif"], "a", workspace, progress=False).hash
    h2 = import_dataset([tmp_path / "m.tif"], "b", workspace, progress=False).hash
    data[0, 0, 0] += 1
    _write(tmp_path / "m.tif", data)
    h3 = import_dataset([tmp_path / "m.tif"], "c", workspace, progress=False).hash
    assert h1 == h2 != h3


def _bad_inputs(tmp_path):
    """(description, paths, kwargs, expected message fragment) for each bad-input case."""
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    full = tmp_path / "full.tif"
    _write(full, _stack((8, 64, 64)))
    trunc = tmp_path / "trunc.tif"
    trunc.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    garbage = tmp_path / "garbage.tif"
    garbage.write_bytes(b"II*\x00" + b"\x07" * 100)
    nan = tmp_path / "nan.tif"
    arr = np.ones((2, 8, 8), np.float32)
    arr[1, 3, 3] = np.nan
    _write(nan, arr)
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    cv2.imwrite(str(mixed / "1.png"), np.zeros((8, 8), np.uint8))
    cv2.imwrite(str(mixed / "2.png"), np.zeros((9, 8), np.uint8))
    (tmp_path / "movie.xyz").write_text("?")
    return [
        ("missing path", [tmp_path / "nope.tif"], {}, "no such file"),
        ("folder without images", [empty], {}, "no images"),
        ("truncated TIFF", [trunc], {}, "TIFF"),
        ("corrupt TIFF", [garbage], {}, "cannot read TIFF"),
        ("zero frames", [full], {"frames": "5:5"}, "zero frames"),
        ("unsupported extension", [tmp_path / "movie.xyz"], {}, "unsupported extension"),
        ("NaN in float TIFF", [nan], {}, "NaN"),
        ("ROI outside the frame", [full], {"rois": ["0,0,100,10"]}, "outside the frame"),
        ("frames of different sizes", [mixed], {}, "differs"),
    ]


def test_every_bad_input_fails_cleanly(workspace, tmp_path):
    for what, paths, kw, fragment in _bad_inputs(tmp_path):
        with pytest.raises(MitoError, match=fragment) as err:
            import_dataset(paths, "bad", workspace, progress=False, **kw)
        assert str(paths[0].name) in str(err.value) or "--frames" in str(err.value), what
        assert "\n" not in str(err.value), what
        assert not list((workspace / "datasets").glob("*bad*")), f"{what}: left a data set behind"


def test_existing_name_refused_unless_overwrite(workspace, tmp_path):
    _write(tmp_path / "m.tif", _stack((2, 8, 8)))
    first = import_dataset([tmp_path / "m.tif"], "x", workspace, progress=False)
    with pytest.raises(MitoError, match="already exists"):
        import_dataset([tmp_path / "m.tif"], "x", workspace, progress=False)
    with pytest.raises(MitoError):  # a failing overwrite keeps the old data set intact
        import_dataset([tmp_path / "missing.tif"], "x", workspace, overwrite=True, progress=False)
    assert Dataset.load("x", workspace).hash == first.hash
    _write(tmp_path / "m.tif", _stack((3, 8, 8)))
    assert import_dataset([tmp_path / "m.tif"], "x", workspace, overwrite=True, progress=False).n_frames == 3


def test_cli_bad_input_is_one_line_and_nonzero(workspace, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "bench.cli", "data", "import",
                           str(tmp_path / "absent.tif"), "--name", "z"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "absent.tif: no such file" in proc.stderr


def test_real_hela_gif_three_panels(workspace, shared_data):
    gif = shared_data / "hela-mitotracker-movie" / "Movie28_Actin_inhibitors.gif"
    ds = import_dataset([gif], "hela", workspace, rois=HELA_ROIS, progress=False)
    assert ds.n_frames == 468 and len(ds.movies) == 3
    train, held = ds.split(0.25, seed=0)
    assert len(held) == 1 and not set(train) & set(held)


def test_real_masks_folder(workspace, shared_data):
    ds = import_dataset([shared_data / "mitotnt-masks"], "masks", workspace, progress=False)
    f = ds.frames(ds.movie_ids[0])
    assert ds.n_frames == 93 and f.shape == (93, 171, 332)
    assert set(np.unique(f)) == {0.0, 1.0}


def test_cli_import_list_show(workspace, tmp_path):
    _write(tmp_path / "cell.tif", _stack((3, 20, 30)))
    run = lambda *a: subprocess.run([sys.executable, "-m", "bench.cli", "data", *a],
                                    capture_output=True, text=True, check=True).stdout
    assert "3 frames in 1 movies" in run("import", str(tmp_path / "cell.tif"), "--name", "c")
    assert "c " in run("list") or "│ c" in run("list")
    shown = run("show", "c")
    assert "uint16" in shown and "contact sheet" in shown
    sheet = cv2.imread(str(workspace / "datasets" / "c" / "contact.png"))
    assert sheet is not None and sheet.shape[0] > 100
