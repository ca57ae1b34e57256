"""Feature extractors: registry, conformance of every registered extractor, offline Inception,
the shipped mito-ssl weights, the float (not PIL 8-bit) data path and the feature cache."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch_fidelity

from analysis.extractors import (available_extractors, get_extractor, list_extractors,
                                 register_extractor)
from analysis.extractors.base import FramesDataset, file_sha256
from analysis.extractors.cache import cached_features
from analysis.extractors.mito_ssl import WEIGHTS, MitoSSLExtractor, load_encoder
from analysis.extractors.ssl import train_ssl_encoder
from analysis.fidelity import fidelity_from_features, fidelity_from_scratch, kid_subset_size
from bench.errors import MitoError


def frames(n=12, size=32, seed=0):
    """Random blobby frames (N, 1, size, size) in [0, 1]."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, 1, size, size)).astype(np.float32)
    x = torch.nn.functional.avg_pool2d(torch.from_numpy(x), 5, 1, 2).numpy()
    return (x - x.min()) / (x.max() - x.min())


def test_registry_lists_both_and_refuses_bad_or_duplicate_names():
    assert {"mito-ssl", "inception-v3-compat"} <= set(list_extractors())
    for bad in ("", " x", "a/b", "has space", 3):
        with pytest.raises(MitoError):
            register_extractor(bad, MitoSSLExtractor)
    with pytest.raises(MitoError, match="already registered"):
        register_extractor("mito-ssl", MitoSSLExtractor)
    with pytest.raises(MitoError, match="unknown extractor"):
        get_extractor("no-such-extractor")


@pytest.mark.parametrize("name", list_extractors())
def test_extractor_conformance(name):
    if name not in available_extractors():
        pytest.skip(f"{name}: weights not on this machine")
    ex = get_extractor(name)
    x = frames(6)
    f = ex.features(x)
    assert f.shape[0] == 6 and f.ndim == 2 and f.dtype == np.float32 and np.isfinite(f).all()
    assert np.array_equal(f, ex.features(x)), "features must be deterministic"
    np.testing.assert_allclose(ex.features(x[:1]), f[:1], rtol=1e-4, atol=1e-5)  # batch-independent
    assert len(ex.weights_hash) == 64 and ex.prep_key
    assert np.abs(f[0] - f[1]).max() > 0, "different frames must get different features"


def test_inception_is_never_downloaded(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv("MITOGAN_INCEPTION_WEIGHTS", raising=False)
    assert "inception-v3-compat" not in available_extractors()
    with pytest.raises(MitoError, match="no local Inception weights"):
        get_extractor("inception-v3-compat")
    # even torch-fidelity's own entry point cannot reach the download code
    with pytest.raises(MitoError, match="nothing is downloaded"):
        torch_fidelity.utils.create_feature_extractor("inception-v3-compat", ["2048"], cuda=False)
    monkeypatch.setenv("MITOGAN_INCEPTION_WEIGHTS", str(tmp_path / "missing.pth"))
    with pytest.raises(MitoError, match="missing.pth"):
        get_extractor("inception-v3-compat")


def test_shipped_weights_are_small_and_match_their_sidecar():
    assert WEIGHTS.is_file() and WEIGHTS.stat().st_size < 5e6
    side = json.loads(WEIGHTS.with_suffix(".json").read_text())
    assert side["sha256"] == file_sha256(WEIGHTS) == MitoSSLExtractor(WEIGHTS).weights_hash
    assert side["command"].startswith("mitogan encoder train")


def test_projected_discriminator_sees_the_mito_ssl_features():
    """The ``projected`` D runs the extractor's network: same weights, same features."""
    from models.projected import ProjectedDiscriminator
    D = ProjectedDiscriminator(width=8)
    ex = MitoSSLExtractor()
    assert MitoSSLExtractor(encoder=D.encoder).weights_hash == MitoSSLExtractor(
        encoder=load_encoder(ex.weights)).weights_hash
    x = frames(6, size=48)
    with torch.no_grad():
        maps = D.encode(torch.from_numpy(x) * 2 - 1)  # D's input is in [-1, 1]
    assert [m.shape[-1] for m in maps] == [32, 16, 8, 4]
    np.testing.assert_allclose(maps[-1].mean(dim=(2, 3)).numpy(), ex.features(x), rtol=1e-5, atol=1e-6)


def test_frames_reach_the_extractor_as_float_not_8bit():
    levels = np.arange(1000, 1400, dtype=np.float32) / 65535.0  # 400 distinct 16-bit levels
    x = np.tile(levels[:, None], (1, 400))[None, None]  # (1, 1, 400, 400)
    served = FramesDataset(x)[0]
    assert served.dtype == torch.float32
    assert len(torch.unique(served)) == 400  # an 8-bit path would leave about 2 levels
    rgb = FramesDataset(x, as_uint8_rgb=True)[0]
    assert rgb.dtype == torch.uint8 and rgb.shape[0] == 3


def test_feature_cache_hits_and_misses(tmp_path, monkeypatch):
    ex = get_extractor("mito-ssl")
    x = frames(5)
    first = cached_features(ex, x, workspace=tmp_path)
    monkeypatch.setattr(ex, "features", lambda imgs: (_ for _ in ()).throw(AssertionError("recomputed")))
    np.testing.assert_array_equal(cached_features(ex, x, workspace=tmp_path), first)
    y = x.copy()
    y[0, 0, 0, 0] = 1.0 - y[0, 0, 0, 0]
    with pytest.raises(AssertionError, match="recomputed"):
        cached_features(ex, y, workspace=tmp_path)  # one pixel changed: miss
    with pytest.raises(AssertionError, match="recomputed"):
        cached_features(ex, x, workspace=tmp_path, prep_key="other-pipeline")
    other = MitoSSLExtractor(encoder=train_ssl_encoder(x, steps=1, seed=1, size=32, batch=4,
                                                       progress=False))
    assert other.weights_hash != ex.weights_hash
    fresh = cached_features(other, x, workspace=tmp_path)  # other weights: a miss, not `first`
    assert fresh.shape != first.shape or not np.allclose(fresh, first)


def test_ssl_training_is_seeded():
    x = frames(8)
    a = train_ssl_encoder(x, steps=2, seed=3, size=32, batch=4, progress=False)
    b = train_ssl_encoder(x, steps=2, seed=3, size=32, batch=4, progress=False)
    c = train_ssl_encoder(x, steps=2, seed=4, size=32, batch=4, progress=False)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)
    with pytest.raises(MitoError):
        train_ssl_encoder(x[:1], steps=1, seed=0)


def test_cached_path_matches_torch_fidelity_from_scratch():
    ex = get_extractor("mito-ssl")
    real, fake = frames(16, seed=1), frames(12, seed=2)
    ours = fidelity_from_features(ex.features(real), ex.features(fake))
    theirs = fidelity_from_scratch(real, fake, ex)
    for k in ours:
        assert ours[k] == pytest.approx(theirs[k], rel=1e-3, abs=1e-5), k
    assert kid_subset_size(16, 12) == 6 and kid_subset_size(5000, 600) == 300
