"""evaluate_run on a generator trained for a few steps: own + common space, floors, memorization,
everything logged to the run; bad run ids are a one-line error."""
from __future__ import annotations

import json

import pytest
import torch

from bench.jobs.evaluate import evaluate_run
from analysis.metrics.known_answers import simulated_frames
from bench import tracking
from bench.cli import main
from bench.config import TrainConfig
from bench.train import train

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluate")
    ws = root / "ws"
    frames = simulated_frames(ws, quick=True, seed=0, size=32)  # imports data set validation-sim-8x12-s0
    uri = f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"
    tracking.ensure_experiment("t", uri)
    cfg = TrainConfig(dataset="validation-sim-8x12-s0", pipeline="normalize|resize", size=32, steps=4,
                      batch=8, width=8, latent_dim=16, device="cpu", log_model=False, experiment="t",
                      threads=1)
    res = train(cfg, workspace=ws, tracking_uri=uri, progress=False)
    assert res.status == "FINISHED"
    return {"ws": ws, "uri": uri, "run_id": res.run_id, "n": len(frames.x)}


def test_evaluate_run_scores_and_logs(run):
    flat = evaluate_run(run["run_id"], workspace=run["ws"], tracking_uri=run["uri"], n_samples=40)
    for key in ("fid", "kid_mean", "coverage", "morph_fd", "common_fid", "common_morph_fd",
                "vendi_fake", "ms_ssim_fake", "copying_z", "authenticity", "birthday_support"):
        assert key in flat, key
    assert "floor_fid" in flat and "floor_common_morph_fd" in flat and "floor_coverage" in flat
    from bench.study.objectives import known_metrics
    assert set(flat) <= known_metrics(), set(flat) - known_metrics()  # what a study may optimise
    assert flat["n_fake"] == 40 and flat["common_n_fake"] == 40 and flat["n_real"] < run["n"]
    # a generator trained for 4 steps is far from real frames: worse than the real-vs-real floor
    assert flat["common_fid"] > flat["floor_common_fid"]
    assert flat["authenticity"] == 1.0  # noise far from every training frame: no sample looks copied

    c = tracking.client(run["uri"])
    logged = c.get_run(run["run_id"]).data.metrics
    assert logged["fid"] == pytest.approx(flat["fid"]) and logged["floor_common_fid"] == pytest.approx(
        flat["floor_common_fid"])
    names = {a.path for a in c.list_artifacts(run["run_id"], "evaluation")}
    assert names == {"evaluation/evaluation.json", "evaluation/nearest_neighbours.png",
                     "evaluation/morphology_histograms.png"}
    report = json.loads(tracking.download(c, run["run_id"], "evaluation/evaluation.json").read_text())
    assert report["extractor"] == "mito-ssl" and report["common_space"]["pipeline"] == "normalize"
    assert report["own_space"]["metrics"]["fid"] == pytest.approx(flat["fid"])


def test_evaluate_is_reproducible_without_logging(run):
    a = evaluate_run(run["run_id"], workspace=run["ws"], tracking_uri=run["uri"], n_samples=24, log=False)
    b = evaluate_run(run["run_id"], workspace=run["ws"], tracking_uri=run["uri"], n_samples=24, log=False)
    assert a == b


def test_cli_evaluate_bad_run_is_one_line_error(run, capsys):
    rc = main(["--workspace", str(run["ws"]), "evaluate", "--run", "0123456789abcdef",
               "--tracking-uri", run["uri"]])
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert rc == 2 and len(errors) == 1 and "0123456789abcdef" in errors[0]
    assert all(ln.startswith(("error:", "notice:")) for ln in lines)  # no traceback
