"""evaluate_run on a generator trained for a few steps: scored against held-out movies with floors
and intervals, everything logged to the run; bad run ids are a one-line error."""
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


def test_evaluate_run_scores_against_heldout_movies_and_logs(run):
    flat = evaluate_run(run["run_id"], workspace=run["ws"], tracking_uri=run["uri"], n_samples=40,
                        n_boot=50)
    for key in ("fid", "fid_ci_low", "fid_ci_high", "floor_fid", "floor_fid_ci_high", "gap_z_fid",
                "within_floor_fid", "coverage", "morph_fd", "copy_fraction", "copying", "collapsed",
                "heldout_gap", "intensity_output"):
        assert key in flat, key
    assert not any(k.startswith("common_") for k in flat)  # no common space: like with like
    from bench.study.objectives import known_metrics
    assert set(flat) <= known_metrics(), set(flat) - known_metrics()  # what a study may optimise
    assert flat["n_samples"] == 40 and flat["n_heldout_movies"] >= 2 and flat["verdict_possible"] == 1
    assert flat["n_train"] + flat["n_heldout"] == run["n"]  # every frame in exactly one role
    assert flat["intensity_output"] == 1.0  # normalize|resize keeps intensities
    # a generator trained for 4 steps is far from real frames: beyond the floor's interval
    assert flat["fid"] > flat["floor_fid_ci_high"] and flat["within_floor_fid"] == 0
    assert flat["heldout_gap"] > 2
    assert flat["copying"] == 0.0  # noise is no copy of any training frame
    # morphology in µm: the simulator's pixel size, times the resize from its frames to 32 px
    from analysis.morphology import morphology_table
    from bench.runs import load_generator, run_split
    from preprocessing.dataset import Dataset
    from preprocessing.physical import training_pixel_size_um
    _, cfg = load_generator(run["run_id"], run["uri"])
    px = training_pixel_size_um(Dataset.load(cfg.dataset, run["ws"]), cfg.pipeline, cfg.size)
    held = run_split(cfg, run["ws"], progress=False)[1]
    assert px and flat["real_tubule_width_um_median"] == pytest.approx(
        morphology_table(held.x[:, 0])["tubule_width_px"].median() * px)
    # pixel intensities: held-out frames and the very samples scored (seed = the run's + 1)
    from analysis.intensity import intensity_stats
    from models.sampling import sample
    G, _ = load_generator(run["run_id"], run["uri"])
    for side, x in (("real", held.x), ("fake", sample(G, 40, seed=cfg.seed + 1))):
        for k, v in intensity_stats(x).items():
            assert flat[f"{side}_{k}"] == pytest.approx(v, abs=1e-6), (side, k)
    assert flat["fake_zero_fraction"] == 0  # a tanh generator cannot draw an exact zero

    c = tracking.client(run["uri"])
    logged = c.get_run(run["run_id"]).data.metrics
    assert logged["fid"] == pytest.approx(flat["fid"]) and logged["heldout_gap"] == pytest.approx(
        flat["heldout_gap"])
    names = {a.path for a in c.list_artifacts(run["run_id"], "evaluation")}
    assert names == {"evaluation/evaluation.json", "evaluation/nearest_neighbours.png",
                     "evaluation/morphology_histograms.png"}
    report = json.loads(tracking.download(c, run["run_id"], "evaluation/evaluation.json").read_text())
    assert report["extractor"] == "mito-ssl" and report["metrics"]["fid"] == pytest.approx(flat["fid"])
    assert report["split"]["stratified_by_label"]  # simulator movies carry their class
    assert not set(report["split"]["train"]) & set(report["split"]["heldout"])


def test_evaluate_is_reproducible_without_logging(run):
    a = evaluate_run(run["run_id"], workspace=run["ws"], tracking_uri=run["uri"], n_samples=24, log=False,
                     n_boot=20)
    b = evaluate_run(run["run_id"], workspace=run["ws"], tracking_uri=run["uri"], n_samples=24, log=False,
                     n_boot=20)
    assert a == b


def test_cli_evaluate_bad_run_is_one_line_error(run, capsys):
    rc = main(["--workspace", str(run["ws"]), "evaluate", "--run", "0123456789abcdef",
               "--tracking-uri", run["uri"]])
    lines = capsys.readouterr().err.strip().splitlines()
    errors = [ln for ln in lines if ln.startswith("error:")]
    assert rc == 2 and len(errors) == 1 and "0123456789abcdef" in errors[0]
    assert all(ln.startswith(("error:", "notice:")) for ln in lines)  # no traceback


def test_a_run_whose_split_changed_is_refused(run, monkeypatch):
    """A run trained under another split rule: its "held-out" frames may be training frames."""
    from bench.errors import MitoError
    from preprocessing.dataset import Dataset

    def old_rule(self, heldout_fraction=0.25, seed=0, among=None):  # one held-out movie, as before
        ids = sorted(self.movie_ids)
        return ids[1:], ids[:1]
    monkeypatch.setattr(Dataset, "split", old_rule)
    with pytest.raises(MitoError, match="split rule changed"):
        evaluate_run(run["run_id"], workspace=run["ws"], tracking_uri=run["uri"], n_samples=8, log=False)


def test_reevaluation_keeps_the_n_it_was_scored_at(run):
    """The floor and every gap depend on N: re-evaluating without --n-samples reuses the run's
    last N (a study's n_eval_samples), not all training frames."""
    first = evaluate_run(run["run_id"], workspace=run["ws"], tracking_uri=run["uri"], n_samples=24,
                         n_boot=20)
    again = evaluate_run(run["run_id"], workspace=run["ws"], tracking_uri=run["uri"], n_boot=20, log=False)
    assert first["n_samples"] == again["n_samples"] == 24 and again["fid"] == pytest.approx(first["fid"])
