"""The region push-down computes the same training tensor as running every op on whole frames."""
from __future__ import annotations

import numpy as np
import pytest

from preprocessing.pipeline import Pipeline
from preprocessing.pushdown import plan
from tests.conftest import movie

PIPELINES = ["register|normalize|nlm|laplacian", "normalize|gaussian(sigma_px=2.5)|nlm(h=12,search_px=15)",
             "laplacian(ksize=5,sigma_px=0.7)|resize(crop=center)", "nlm|otsu", "gaussian|resize(crop=none)",
             "clahe|gaussian|laplacian(ksize=1)"]


@pytest.mark.parametrize("spec", PIPELINES)
@pytest.mark.parametrize("shape", [(48, 150), (150, 48), (64, 64)])
def test_pushdown_gives_the_same_tensor(spec, shape):
    wide = np.concatenate([movie(5, max(shape), seed=s) for s in range(2)], axis=2)[:, :shape[0], :shape[1]]
    pipe = Pipeline.parse(spec)
    got, src, stages = pipe.run_movie(wide, 32, keep_stages=True)
    want, src0, _ = pipe.run_movie(wide, 32, pushdown=False)
    np.testing.assert_allclose(got, want, rtol=0, atol=3e-7)  # a float32 rounding at most
    np.testing.assert_array_equal(src, src0)
    assert [name for name, _ in stages] == ["input"] + [n for n, _ in pipe.steps[:-1]]


def test_plan_crops_only_where_it_saves_work():
    wide = Pipeline.parse("register|normalize|nlm|laplacian")
    crop = plan(wide.steps, (385, 1080), 64)
    # nlm reads 10 + 3 px, laplacian (sigma 1: 9-tap Gaussian, 3x3 Laplacian) 4 + 1 px around
    assert crop.at == 2 and crop.outer == (0, 385, 347 - 18, 732 + 18)
    assert crop.inner == (0, 385, 18, 18 + 385)
    assert plan(wide.steps, (64, 64), 32) is None                      # square frames: all is read
    assert plan(Pipeline.parse("nlm|otsu").steps, (385, 1080), 64) is None   # otsu is non-local
    assert plan(Pipeline.parse("nlm|resize(crop=none)").steps, (385, 1080), 64) is None
    assert plan(Pipeline.parse("nlm|tile").steps, (385, 1080), 64) is None
