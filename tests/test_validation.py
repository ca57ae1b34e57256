"""Known-answer validation of the metrics on (small) simulator data: every check must pass."""
from __future__ import annotations

import numpy as np
import pytest

from analysis.extractors import get_extractor
from analysis.metrics.known_answers import Validator, add_noise, blur, format_checks, simulated_frames

CHECKS = ["real_vs_real", "blur", "noise", "drop_class", "repeat_k", "memorization", "class_shift"]


@pytest.fixture(scope="module")
def validator(tmp_path_factory):
    ws = tmp_path_factory.mktemp("ws-validation")
    frames = simulated_frames(ws, quick=True, seed=0, size=64)
    return Validator(frames, get_extractor("mito-ssl"), workspace=ws, seed=0)


def test_simulated_frames_carry_every_class(validator):
    f = validator.f
    assert f.x.shape[1:] == (1, 64, 64) and len(f.x) == len(f.movie_ids) == len(f.classes)
    assert set(f.classes) == {"tubular", "fragmented", "hyperfused", "pearled"}


@pytest.mark.parametrize("check", CHECKS)
def test_check_passes(validator, check):
    c = validator.degradation(check) if check in ("blur", "noise") else getattr(validator, check)()
    assert c.passed is True, f"{c.name}: {c.detail}"
    assert "PASS" in format_checks("sim", len(validator.f.x), [c])


def test_degradations_do_what_they_say():
    rng = np.random.default_rng(0)
    x = rng.random((3, 1, 32, 32)).astype(np.float32)
    stds = [blur(x, s).std() for s in (0.5, 1.0, 2.0)]
    assert stds[0] > stds[1] > stds[2]  # more blur, less contrast
    n = add_noise(x, 0.1, seed=1)
    assert n.min() >= 0 and n.max() <= 1 and np.array_equal(n, add_noise(x, 0.1, seed=1))
    assert 0.05 < np.abs(n - x).mean() < 0.1


def test_checks_without_labels_are_not_applicable(validator):
    from dataclasses import replace

    v = Validator(replace(validator.f, classes=None), validator.ex, workspace=validator.ws)
    assert v.drop_class().passed is None and v.class_shift().passed is None
