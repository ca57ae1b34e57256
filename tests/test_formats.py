"""Microscope formats and physical units: multi-series OME-TIFF, TIFF variants, OME-Zarr through
bioio (written here by bioio-ome-zarr), the refusal without the extra, units from the file or
the user, and the warning when pixel sizes differ."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import tifffile

from bench.cli import main as cli
from bench.errors import MitoError
from preprocessing.ingest import import_dataset

RNG = np.random.default_rng(3)


def _ome_two_series(path, a, b, px=(0.108, 0.108), dt=(1.5, 1.5)):
    """One OME-TIFF holding two series (two positions), each TYX with its own pixel size."""
    with tifffile.TiffWriter(path, ome=True) as tif:
        for data, p, t in ((a, px[0], dt[0]), (b, px[1], dt[1])):
            tif.write(data, photometric="minisblack",
                      metadata={"axes": "TYX", "PhysicalSizeX": p, "PhysicalSizeY": p,
                                "PhysicalSizeXUnit": "µm", "TimeIncrement": t, "TimeIncrementUnit": "s"})


def test_multi_series_ome_tiff_becomes_one_movie_per_series_with_units(workspace, tmp_path):
    a = RNG.integers(0, 4000, (3, 24, 32)).astype(np.uint16)
    b = RNG.integers(0, 4000, (5, 20, 20)).astype(np.uint16)
    path = tmp_path / "plate.ome.tif"
    _ome_two_series(path, a, b)
    ds = import_dataset([path], "two", workspace, intensity_range="0,4000", progress=False)
    assert ds.movie_ids == ["plate_s0", "plate_s1"]  # never series[0] alone
    np.testing.assert_allclose(ds.frames("plate_s1"), b / 4000.0, atol=1e-6)
    assert [m["n_frames"] for m in ds.movies] == [3, 5]
    assert [m["pixel_size_um"] for m in ds.movies] == pytest.approx([0.108, 0.108])
    assert ds.manifest["frame_interval_s"] == pytest.approx(1.5)


def test_imagej_units_tiff_variants_and_user_units(workspace, tmp_path, capsys):
    data = RNG.integers(0, 255, (4, 16, 16)).astype(np.uint8)
    ij = tmp_path / "ij.tif"  # what the simulator and Fiji write: px per µm, finterval
    tifffile.imwrite(ij, data, imagej=True, resolution=(1 / 0.065, 1 / 0.065),
                     metadata={"axes": "TYX", "unit": "um", "finterval": 0.5})
    btf = tmp_path / "big.btf"
    tifffile.imwrite(btf, data, bigtiff=True, photometric="minisblack", metadata={"axes": "TYX"})
    ds = import_dataset([ij, btf], "units", workspace, progress=False)
    ij_m, btf_m = ds.movies
    assert ij_m["pixel_size_um"] == pytest.approx(0.065) and ij_m["frame_interval_s"] == 0.5
    assert btf_m["pixel_size_um"] is None  # unknown stays unknown, never 1.0
    np.testing.assert_allclose(ds.frames(btf_m["id"]), data / 255.0, atol=1e-6)
    assert cli(["data", "import", str(btf), "--name", "given", "--pixel-size-um", "0.2",
                "--frame-interval-s", "2"]) == 0
    assert "pixel 0.2 µm" in capsys.readouterr().out
    assert cli(["data", "import", str(btf), "--name", "bad", "--pixel-size-um", "-1"]) == 2
    assert "--pixel-size-um" in capsys.readouterr().err


def test_pixel_sizes_differing_by_more_than_10_percent_warn_and_name_the_movies(workspace, tmp_path, capsys):
    frames = RNG.integers(0, 255, (2, 16, 16)).astype(np.uint8)
    for name, px in (("a.tif", 0.10), ("b.tif", 0.105), ("c.tif", 0.16)):
        tifffile.imwrite(tmp_path / name, frames, imagej=True, resolution=(1 / px, 1 / px),
                         metadata={"axes": "TYX", "unit": "um"})
    import_dataset([tmp_path / "a.tif", tmp_path / "b.tif"], "close", workspace, progress=False)
    assert "warning" not in capsys.readouterr().err  # 5% apart: the same objective
    import_dataset([tmp_path / "a.tif", tmp_path / "c.tif"], "far", workspace, progress=False)
    err = capsys.readouterr().err
    assert "more than 10%" in err and "a.tif (0.1 µm)" in err and "c.tif (0.16 µm)" in err


def test_ome_zarr_through_bioio_channel_z_roi_and_units(workspace, tmp_path):
    pytest.importorskip("bioio_ome_zarr", reason="bioio-ome-zarr (in the test extra) not installed")
    from bioio_ome_zarr.writers import OMEZarrWriter
    data = RNG.integers(0, 4000, (4, 2, 3, 20, 24)).astype(np.uint16)  # T C Z Y X
    path = tmp_path / "cells.ome.zarr"
    w = OMEZarrWriter(str(path), level_shapes=[data.shape], dtype=data.dtype,
                      axes_names=["t", "c", "z", "y", "x"],
                      axes_types=["time", "channel", "space", "space", "space"],
                      axes_units=["second", None, "micrometer", "micrometer", "micrometer"],
                      physical_pixel_size=[2.0, 1.0, 0.5, 0.13, 0.13])
    w.write_full_volume(data)
    with pytest.raises(MitoError, match="--channel"):
        import_dataset([path], "nochan", workspace, progress=False)
    ds = import_dataset([path], "zarr", workspace, channel=1, z="max", rois=["2,3,18,15"],
                        intensity_range="0,4000", progress=False)
    (movie,) = ds.movies
    f = ds.frames(movie["id"])
    np.testing.assert_allclose(f, data[:, 1].max(1)[:, 3:15, 2:18] / 4000.0, atol=1e-6)
    assert movie["pixel_size_um"] == pytest.approx(0.13) and movie["frame_interval_s"] == pytest.approx(2.0)
    sl = import_dataset([path], "zsl", workspace, channel=0, z="slices", frames="1:3", progress=False)
    assert [(r["frame_index"], r["z_index"]) for r in sl.manifest["frames"]][:4] == [(1, 0), (1, 1), (1, 2), (2, 0)]


def test_vendor_files_without_their_plugin_name_the_extra(workspace, tmp_path, monkeypatch, capsys):
    czi = tmp_path / "scan.czi"
    czi.write_bytes(b"ZISRAWFILE" + bytes(100))
    monkeypatch.setitem(sys.modules, "bioio", None)  # as on an install without mitogan[formats]
    for path in (czi, tmp_path / "x.nd2", tmp_path / "y.lif", tmp_path / "z.dv"):
        path.write_bytes(b"\0" * 64)
        assert cli(["data", "import", str(path), "--name", "v"]) == 2
        err = capsys.readouterr().err.strip()
        assert err.count("\n") == 0 and "mitogan[formats]" in err and path.name in err
    zarr = tmp_path / "plate.ome.zarr"
    zarr.mkdir()
    (zarr / "zarr.json").write_text("{}")
    assert cli(["data", "import", str(zarr), "--name", "z"]) == 2
    assert "mitogan[formats]" in capsys.readouterr().err


def test_training_pixel_size_and_morphology_in_um():
    import pandas as pd

    from preprocessing.physical import effective_pixel_size_um, morphology_um
    # a 256 x 300 movie at 0.1 µm, centre-cropped to 256 and resized to 64: 0.4 µm per pixel
    assert effective_pixel_size_um(0.1, (256, 300), "normalize|resize", 64) == pytest.approx(0.4)
    assert effective_pixel_size_um(0.1, (256, 256), "normalize|tile(scale=0.5)", 64) == pytest.approx(0.2)
    assert effective_pixel_size_um(None, (256, 256), "normalize", 64) is None
    table = pd.DataFrame({"area_px": [100.0, 300.0], "branch_length_px": [10.0, 20.0],
                          "tubule_width_px": [2.0, 4.0]})
    um = morphology_um(table, 0.4)
    assert um == pytest.approx({"area_um2": 200 * 0.16, "branch_length_um": 6.0, "tubule_width_um": 1.2})
    assert morphology_um(table, None) == {}
