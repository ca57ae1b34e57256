"""The CLI answers fast: building the parser imports no torch/OpenCV/NumPy, every command has a
description, choices come from the registries, and ``--version`` works."""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from bench import choices
from bench.cli import build_parser
from tests.conftest import REPO

HEAVY = ("torch", "cv2", "numpy", "mlflow", "optuna", "skimage", "scipy")


def test_building_the_parser_imports_no_heavy_module():
    code = ("import sys, json; from bench.cli import build_parser; build_parser(); "
            f"print(json.dumps([m for m in {list(HEAVY)!r} if m in sys.modules]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                         check=True)
    assert json.loads(out.stdout) == []


def _parsers(parser: argparse.ArgumentParser, path=()):
    """``(command path, parser)`` for every sub-command, nested ones included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, p in action.choices.items():
                yield path + (name,), p
                yield from _parsers(p, path + (name,))


def test_every_command_has_a_description_and_help_exits_zero(capsys):
    found = list(_parsers(build_parser()))
    assert {"train", "preprocess", "study", ("data", "import"), ("data", "simulate")} <= {
        p[0] if len(p) == 1 else p for p, _ in found}
    for path, p in found:
        assert p.description and len(p.description) > 10, f"mitogan {' '.join(path)} has no description"
        with pytest.raises(SystemExit) as ex:
            build_parser().parse_args([*path, "--help"])
        assert ex.value.code == 0
        assert p.description.split()[0] in capsys.readouterr().out


def test_choices_are_the_registries():
    from analysis.attribution.methods import list_methods
    from analysis.extractors import list_extractors
    from analysis.judge_models import list_judges
    from models import list_variants
    from preprocessing.ops import list_ops
    assert sorted(choices.GAN_VARIANTS) == sorted(list_variants())
    assert sorted(choices.OPS) == sorted(list_ops())
    assert sorted(choices.EXTRACTORS) == sorted(list_extractors())
    assert sorted(choices.JUDGES) == sorted(list_judges())
    assert sorted(choices.ATTRIBUTION_METHODS) == sorted(list_methods())


def test_help_lists_the_choices_and_version_prints(capsys):
    with pytest.raises(SystemExit):
        build_parser().parse_args(["train", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "dcgan, fastgan, lsgan, projected, r1, sngan, wgan, wgan-gp" in text and "nlm, laplacian" in text
    with pytest.raises(SystemExit) as ex:
        build_parser().parse_args(["--version"])
    assert ex.value.code == 0
    from importlib.metadata import version
    assert capsys.readouterr().out.strip() == f"mitogan {version('mitogan')}"
