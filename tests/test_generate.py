"""``mitogan generate`` / ``analysis.export``: count, 16-bit files, determinism, resume after an
interrupt, planted duplicates removed, flat memory — with a real (tiny) generator network."""
from __future__ import annotations

import json

import numpy as np
import pytest
import tifffile

from analysis.export import chunk_seed, export_frames, nn_threshold, read_frame
from bench.config import TrainConfig
from bench.errors import MitoError
from bench.train import train
from models.sampling import sample
from preprocessing.physical import tiff_units
from tests.conftest import cells_dataset


@pytest.fixture(scope="module")
def G():
    from models import get_variant
    g, _ = get_variant("dcgan").build(32, latent_dim=16, width=8)
    return g.eval()


def source_of(G, seed, calls=None, fail_at=None):
    """Chunks of G's frames, seeded per chunk; records chunk calls; may raise at one chunk."""
    def source(k, count):
        if calls is not None:
            calls.append(k)
        if k == fail_at:
            raise KeyboardInterrupt
        return sample(G, count, seed=chunk_seed(seed, k), batch=count)
    return source


def files_of(d):
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.name.startswith("frame_")}


def test_count_uint16_determinism_and_resume(G, tmp_path):
    a = export_frames(source_of(G, 7), 50, tmp_path / "a", seed=7, batch=16, progress=False)
    b = export_frames(source_of(G, 7), 50, tmp_path / "b", seed=7, batch=16, progress=False)
    fa, fb = files_of(tmp_path / "a"), files_of(tmp_path / "b")
    assert a.count == b.count == 50 and len(fa) == 50 and fa == fb            # same seed, same bytes
    man = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert man["count"] == 50 and man["seed"] == 7 and man["format"] == "png"
    assert man["files"] == sorted(fa)
    img = read_frame(tmp_path / "a" / "frame_000017.png")
    assert img.dtype == np.uint16 and img.shape == (32, 32)
    ref = sample(G, 16, seed=chunk_seed(7, 1), batch=16)[1, 0]   # frame 17 = chunk 1, #1
    assert np.abs(img / 65535.0 - ref).max() <= 0.5 / 65535 + 1e-6         # no 8-bit rounding
    c = export_frames(source_of(G, 8), 50, tmp_path / "c", seed=8, batch=16, progress=False)
    assert c.count == 50 and files_of(tmp_path / "c") != fa                  # another seed differs

    calls: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        export_frames(source_of(G, 7, calls, fail_at=2), 50, tmp_path / "r", seed=7, batch=16,
                      progress=False)
    assert not (tmp_path / "r").exists() and (tmp_path / "r.partial").is_dir()
    calls.clear()
    r = export_frames(source_of(G, 7, calls), 50, tmp_path / "r", seed=7, batch=16, progress=False)
    assert calls == [2, 3] and r.resumed_chunks == 2         # chunks 0 and 1 were not redone
    assert files_of(tmp_path / "r") == fa and not (tmp_path / "r.partial").exists()
    with pytest.raises(MitoError, match="already exists"):
        export_frames(source_of(G, 7), 50, tmp_path / "r", seed=7, batch=16, progress=False)


def test_resume_refuses_other_settings(G, tmp_path):
    with pytest.raises(KeyboardInterrupt):
        export_frames(source_of(G, 1, fail_at=1), 20, tmp_path / "x", seed=1, batch=8,
                      progress=False)
    with pytest.raises(MitoError, match="different settings"):
        export_frames(source_of(G, 2), 20, tmp_path / "x", seed=2, batch=8, progress=False)


def test_tiff_output(G, tmp_path):
    res = export_frames(source_of(G, 0), 5, tmp_path / "t", fmt="tiff", batch=4, progress=False)
    img = read_frame(tmp_path / "t" / "frame_000004.tiff")
    assert res.count == 5 and img.dtype == np.uint16 and img.max() > 255


def test_nn_threshold_known_answer():
    train = np.array([[0.0], [10.0]])
    held = np.array([[1.0], [12.0], [20.0]])             # nearest distances 1, 2, 10
    assert nn_threshold(train, held, 0.0) == pytest.approx(1.0)
    assert nn_threshold(train, held, 1.0) == pytest.approx(10.0)


def test_dedupe_removes_planted_duplicates(G, tmp_path):
    from analysis.export import _min_dist
    from analysis.extractors import get_extractor
    ext = get_extractor("mito-ssl")
    base = sample(G, 48, seed=3)                     # (48, 1, 32, 32) distinct frames
    frames = base.copy()
    frames[5] = frames[2]                                      # duplicate within chunk 0
    frames[20] = frames[1]                                     # duplicate across chunks
    train = np.concatenate([base[[33, 40]], sample(G, 6, seed=99)])  # copies of 33, 40
    feats = ext.features(base)
    d = np.sqrt(((feats[:, None] - feats[None]) ** 2).sum(-1)) + np.eye(len(feats)) * 1e9
    natural = min(d.min(), _min_dist(np.delete(feats, [33, 40], 0), ext.features(train)).min())
    thr = 0.5 * float(natural)                                 # below any unplanted distance
    res = export_frames(lambda k, c: frames[k * 16:k * 16 + c], 48, tmp_path / "d", batch=16,
                        features=ext.features, dedupe_threshold=thr,
                        train_feats=ext.features(train), progress=False)
    kept = set(files_of(tmp_path / "d"))
    assert res.dropped_duplicates == 2 and res.dropped_train_copies == 2 and res.count == 44
    assert {"frame_000005.png", "frame_000020.png", "frame_000033.png",
            "frame_000040.png"}.isdisjoint(kept)
    assert "frame_000002.png" in kept and "frame_000001.png" in kept


def test_distinct_count_is_the_protocols_and_counts_repeats(tmp_path):
    """``generate``'s count of distinct frames is the protocol's (features standardised by the
    real frames): 5 real frames repeated 16 times count ≈ 5, the real set itself far more."""
    from analysis.extractors import get_extractor
    from analysis.metrics.known_answers import simulated_frames
    from analysis.protocol.score import DistinctCount
    x = simulated_frames(tmp_path / "ws", quick=True, seed=0, size=32).x  # (96, 1, 32, 32)
    ext = get_extractor("mito-ssl")
    feats = ext.features(x)
    count = DistinctCount(feats).count
    rep = x[np.repeat(np.arange(0, len(x), len(x) // 5)[:5], 16)]  # (80, 1, 32, 32): 5 distinct
    res = export_frames(lambda k, c: rep[k * 16:k * 16 + c], 80, tmp_path / "rep", batch=16,
                        features=ext.features, distinct=count, vendi_subsample=80, progress=False)
    assert res.vendi_n == 80 and res.vendi == pytest.approx(5, rel=0.25)
    assert count(feats[:80]) > 3 * res.vendi  # 80 real frames of 8 movies: many more than 5
    none = export_frames(lambda k, c: rep[k * 16:k * 16 + c], 16, tmp_path / "none", batch=16,
                         features=ext.features, progress=False)
    assert none.vendi is None and any("not measured" in n for n in none.notes)


def test_memory_flat_between_2000_and_6000_frames():
    from bench.perf.generate import measure, rss_at
    r = measure(6000, size=32, batch=256, latent=16, width=8, threads=1)
    growth = r["peak_mb"] - rss_at(r, 2000)
    assert growth < 40, f"peak RSS grew {growth:.0f} MB between 2,000 and 6,000 frames"


def test_cli_generate_from_a_trained_run(tmp_path, workspace, capsys):
    """Train a tiny run, then ``mitogan generate --dedupe`` twice: same seed, same files."""
    from bench.cli import main
    ds = cells_dataset(tmp_path, workspace, pixel_size_um=0.1)  # 48 px movies at 0.1 µm
    uri = f"sqlite:///{tmp_path / 'mlruns' / 'mlflow.db'}"
    cfg = TrainConfig(dataset="cells", size=32, steps=4, batch=8, width=8, latent_dim=16,
                                device="cpu", log_model=False)
    run = train(cfg, workspace=workspace, tracking_uri=uri, progress=False)
    assert run.status == "FINISHED"
    outs = []
    for name in ("g1", "g2"):
        rc = main(["generate", "--run", run.run_id, "--n", "40", "--out", str(tmp_path / name),
                   "--seed", "5", "--batch", "16", "--dedupe", "--vendi-n", "20",
                   "--tracking-uri", uri])
        outs.append(capsys.readouterr().out)
        assert rc == 0
    man = json.loads((tmp_path / "g1" / "manifest.json").read_text())
    assert man["run_id"] == run.run_id and man["dataset_hash"] == ds.hash
    assert man["count"] == len(man["files"]) == 40 - man["dropped_duplicates"] - man["dropped_train_copies"]
    assert files_of(tmp_path / "g1") == files_of(tmp_path / "g2")
    assert "dedupe threshold" in outs[0] and "effectively distinct frames (Vendi" in outs[0]
    assert 1.0 <= man["vendi"] <= man["vendi_n"] <= 20 and "real " in outs[0]

    assert main(["generate", "--run", run.run_id, "--n", "6", "--out", str(tmp_path / "stack"),
                 "--format", "tiff", "--vendi-n", "4", "--ome-tiff", "--tracking-uri", uri]) == 0
    with tifffile.TiffFile(tmp_path / "stack" / "synthetic.ome.tif") as tif:
        stack = tif.series[0].asarray()
        assert tif.series[0].axes == "TYX" and stack.shape == (6, 32, 32)
        assert tiff_units(tif, 0)[0] == pytest.approx(0.15)  # 0.1 µm × 48 px resized to 32
    frames = sorted((tmp_path / "stack").glob("frame_*.tiff"))
    assert np.array_equal(stack, np.stack([tifffile.imread(f) for f in frames]))
    capsys.readouterr()

    rc = main(["generate", "--run", "0" * 32, "--n", "4", "--out", str(tmp_path / "bad"),
               "--tracking-uri", uri])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("error: ") and "\n" not in err
    assert not (tmp_path / "bad").exists() and not (tmp_path / "bad.partial").exists()
