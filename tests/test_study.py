"""Studies end to end on one host: journal storage + SQLite MLflow in a tmp dir, real tiny training.

A 4-cell grid (2 pipelines × 2 variants, 32 px, a few steps): every cell once, one child run per
trial under one parent run, the report on the parent, resume after SIGINT, nothing left RUNNING.
"""
from __future__ import annotations

import signal
from pathlib import Path

import optuna
import pytest
from mlflow.tracking import MlflowClient

from bench.errors import MitoError
from bench.study import grid
from bench.study.config import cells, load_config
from bench.study.storage import open_storage
from tests.conftest import (assert_nothing_running, child_runs, local_uri, mitogan, tiny_study,
                            wait_for_training)


def local_study(cfg_path: Path):
    """``(cfg, study, client)`` of a study run with the defaults in ``cfg_path``'s folder.

    URIs are explicit because an in-process ``train`` leaves ``$MLFLOW_TRACKING_URI`` set to
    MLflow's own default (``mlflow.set_tracking_uri`` writes the environment).
    """
    root = cfg_path.parent
    cfg = load_config(cfg_path)
    journal = root / "mlruns" / "optuna.journal"
    study = optuna.load_study(study_name=cfg.name, storage=open_storage(f"journal:{journal}"))
    return cfg, study, MlflowClient(local_uri(root))


def test_config_errors_name_the_key(tmp_path):
    bad = tiny_study(tmp_path / "a.yaml", "x", budget={"steps": 0})
    with pytest.raises(MitoError, match=r"budget\.steps"):
        load_config(bad)
    multi = tiny_study(tmp_path / "b.yaml", "x", pruning={"enabled": True},
                       objectives=[{"metric": "heldout_gap", "direction": "minimize"},
                                   {"metric": "coverage", "direction": "maximize"}])
    with pytest.raises(MitoError, match="single objective"):
        load_config(multi)
    typo = tiny_study(tmp_path / "c.yaml", "x", pipeline=["nlm"])
    with pytest.raises(MitoError, match="pipeline"):
        load_config(typo)
    proc = mitogan("study", "--config", str(bad), cwd=tmp_path)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 2 and out.strip().count("\n") == 0 and "budget.steps" in out


def test_grid_and_op_flags(tmp_path):
    cfg = load_config(tiny_study(tmp_path / "s.yaml", "g", seeds=[0, 1], diffaug=[False, True],
                                 search={"trials_per_cell": 2, "params": {"lr_g": {"low": 1e-4, "high": 1e-3}}}))
    grid_cells = cells(cfg)
    assert len(grid_cells) == 2 * 2 * 2 * 2 * 2 and len({c.id for c in grid_cells}) == len(grid_cells)
    assert set(grid.grid_space(cfg)) == {"dataset", "pipeline", "gan", "diffaug", "ada", "output",
                                         "seed", "op_gaussian"}
    assert grid.cell_params(cfg, grid_cells[-1])["op_gaussian"] is True
    assert grid.cell_params(cfg, grid_cells[0])["op_gaussian"] is False


def test_later_axes_keep_older_studies_resumable(tmp_path):
    """A study file without ``ada``/``output``/``budget.seconds`` keeps the cell ids and grid hash
    it had before those existed (spelled out here as the older code computed them), so such a
    study still resumes; setting them makes new cells."""
    import hashlib
    import json
    from bench.study.config import grid_hash
    cfg = load_config(tiny_study(tmp_path / "s.yaml", "old", diffaug=[False, True]))
    c = cells(cfg)[1]  # cells, normalize|resize, dcgan, diffaug True, seed 0
    blob = json.dumps([c.dataset, c.pipeline, c.gan, c.diffaug, c.seed])
    assert c.id == f"dcgan+da-s0-{hashlib.sha1(blob.encode()).hexdigest()[:8]}-k0"
    old = cfg.model_dump(include={"datasets", "pipelines", "gans", "diffaug", "seeds", "search",
                                  "budget", "train", "objectives", "pruning"})
    del old["budget"]["seconds"]
    for d in old["datasets"]:
        del d["source"]
    assert grid_hash(cfg) == hashlib.sha256(json.dumps(old, sort_keys=True, default=str).encode()).hexdigest()[:16]
    new = load_config(tiny_study(tmp_path / "n.yaml", "new", ada=[False, True],
                                 output=["tanh", "fluorescence"], budget={"seconds": 5, "size": 32}))
    ids = [x.id for x in cells(new)]
    assert len(set(ids)) == 4 * 4 and sum("+ada+fl" in i for i in ids) == 4
    assert grid_hash(new) != grid_hash(load_config(tiny_study(tmp_path / "m.yaml", "new", budget={"seconds": 6, "size": 32})))


def test_study_imports_its_data_set_from_source(tmp_path):
    """``source:`` imports like ``mitogan data import``, paths relative to the study file; the
    grid hash ignores where the files are (each run records its data set's hash)."""
    import numpy as np
    import tifffile
    from bench.study.config import grid_hash
    from bench.study.runner import ensure_datasets, validate
    from preprocessing.dataset import Dataset
    (tmp_path / "raw").mkdir()
    (tmp_path / "studies").mkdir()
    tifffile.imwrite(tmp_path / "raw" / "m.tif",
                     (np.random.default_rng(0).random((6, 40, 80)) * 255).astype(np.uint8))
    src = {"paths": ["../raw/m.tif"], "roi": ["0,0,40,40", "40,0,80,40"], "frames": "0::2"}
    cfg = load_config(tiny_study(tmp_path / "studies" / "s.yaml", "src",
                                 datasets=[{"name": "imp", "source": src}]))
    assert cfg.datasets[0].source.paths == [str((tmp_path / "raw" / "m.tif").resolve())]
    ws = tmp_path / "ws"
    validate(cfg, ws)
    ensure_datasets(cfg, ws)
    ds = Dataset.load("imp", ws)
    assert ds.movie_ids == ["m_roi0", "m_roi1"] and ds.frames("m_roi1").shape == (3, 40, 40)
    moved = tiny_study(tmp_path / "s.yaml", "src",
                       datasets=[{"name": "imp", "source": {**src, "paths": ["raw/m.tif"]}}])
    assert grid_hash(load_config(moved)) == grid_hash(cfg)
    gone = tiny_study(tmp_path / "studies" / "t.yaml", "src",
                      datasets=[{"name": "other", "source": {"paths": ["../raw/none.tif"]}}])
    with pytest.raises(MitoError, match=r"datasets\.other\.source\.paths.*none\.tif: not found"):
        validate(load_config(gone), ws)
    both = tiny_study(tmp_path / "b.yaml", "src", datasets=[{"name": "x", "simulate": {}, "source": src}])
    with pytest.raises(MitoError, match="simulate or source, not both"):
        load_config(both)


def test_threads_claim_each_cell_once(tmp_path):
    """Eight threads race for 24 queued cells on one journal: every cell is claimed exactly once."""
    from concurrent.futures import ThreadPoolExecutor
    cfg = load_config(tiny_study(tmp_path / "s.yaml", "race", seeds=[0, 1, 2], diffaug=[False, True]))
    storage = open_storage(f"journal:{tmp_path / 'j.journal'}")
    study, created = grid.setup_study(cfg, storage, lambda: "no-mlflow")
    assert created and grid.setup_study(cfg, storage, lambda: "x")[1] is False

    def drain(_):
        got = []
        while (trial := grid.claim(study)) is not None:
            got.append(trial.number)
            study.tell(trial, [0.0])
        return got

    with ThreadPoolExecutor(8) as pool:
        claimed = sum(pool.map(drain, range(8)), [])
    trials = study.get_trials()
    assert len(trials) == len(cells(cfg)) == len(claimed) == len(set(claimed))
    assert len({t.user_attrs["cell"] for t in trials}) == len(trials)
    assert grid.enqueue_missing(cfg, study) == 0


def test_local_study_end_to_end_and_rerun(study_dir, capsys):
    from bench.study.runner import resolve_target, run_study
    path = tiny_study(study_dir / "s.yaml", "local4", finish={"explain_frames": 8, "generate_ratio": 2})
    cfg = load_config(path)
    target = resolve_target(cfg, study_dir / "ws", tracking_uri=local_uri(study_dir))
    assert run_study(cfg, path, target) == 0
    out = capsys.readouterr()
    for step in ("explain", "judge", "generate 2x"):  # the best trial's finishing steps
        assert f"finish: {step} of run" in out.out, out.out
    assert sum(line.startswith("trial ") and " COMPLETE " in line for line in out.out.splitlines()) == 4
    assert "train " not in out.err  # no training bars under the study's one bar
    cfg, study, client = local_study(path)
    best = client.get_model_version_by_alias("mitogan-local4", "best")
    first = (study_dir / "ws" / "studies" / "local4" / "leaderboard.csv").read_text().splitlines()
    assert best.run_id in first[1]  # the leaderboard's first row is the registered version
    trials = study.get_trials()
    assert len(trials) == 4 and {t.state.name for t in trials} == {"COMPLETE"}
    assert sorted(t.user_attrs["cell"] for t in trials) == sorted(c.id for c in cells(cfg))
    kids = child_runs(client, study)
    assert len(kids) == 4
    assert len({r.info.run_name for r in kids}) == 4  # told apart without a lookup
    parent = study.user_attrs["mlflow_parent_run_id"]
    for run in kids:
        tags = run.data.tags
        assert tags["parent_run_id"] == parent and tags["mitogan.study"] == "local4"
        assert tags["mitogan.state"] == "COMPLETE" and tags["mitogan.cell"] in {c.id for c in cells(cfg)}
        assert "objective.heldout_gap" in tags
    assert client.get_run(parent).info.status == "FINISHED"
    arts = {a.path for a in client.list_artifacts(parent, "study")}
    assert {"study/leaderboard.csv", "study/importance.csv"} <= arts
    assert "study/pareto.png" not in arts  # one objective (heldout_gap): no front to draw
    board = (study_dir / "ws" / "studies" / "local4" / "leaderboard.csv").read_text().splitlines()
    assert len(board) == 5 and board[0].startswith("rank,verdict,")
    best_metrics = client.get_run(best.run_id).data.metrics
    assert "c2st_acc" in best_metrics and "synthetic_distinct" in best_metrics
    assert best_metrics["synthetic_frames"] == 2 * int(client.get_run(best.run_id).data.params["n_train"])
    assert (study_dir / "ws" / "studies" / "local4" / "synthetic" / best.run_id / "manifest.json").is_file()
    assert any(a.path.endswith("explain.json") for a in client.list_artifacts(best.run_id, "explain"))
    assert run_study(cfg, path, target) == 0  # resume: nothing to do
    assert "finish: explain: already done" in capsys.readouterr().out
    assert len(client.search_model_versions("name='mitogan-local4'")) == 1  # not registered twice
    assert len(study.get_trials()) == 4 and len(child_runs(client, study)) == 4
    assert_nothing_running(client, study)


def test_planted_copier_ranks_last_and_is_not_registered_best(study_dir):
    """A "variant" returning exact copies of its training frames sits far closer to real frames
    than a GAN trained for 12 steps (noise): a verdict against the training frames ranks it first.
    Scored against held-out movies it is flagged as copying and ranks last."""
    from bench.study.runner import resolve_target, run_study
    from tests.planted_copier import copier_registered
    with copier_registered() as copier:
        path = tiny_study(study_dir / "s.yaml", "planted", gans=["dcgan", copier],
                          pipelines=["normalize|resize"])
        cfg = load_config(path)
        assert run_study(cfg, path, resolve_target(cfg, study_dir / "ws",
                                                   tracking_uri=local_uri(study_dir))) == 0
    import pandas as pd
    board = pd.read_csv(study_dir / "ws" / "studies" / "planted" / "leaderboard.csv")
    assert list(board["gan"]) == ["dcgan", copier] and list(board["rank"]) == [1, 2]
    row = board.set_index("gan").loc[copier]
    assert row["copying"] == 1 and "copies training frames" in row["verdict"]
    assert row["copy_fraction_ci_low"] > 0.5  # nearly every sample is a training frame
    # copies are closer to real frames than noise is: only the copy rule puts it last
    assert row["fid"] < board.set_index("gan").loc["dcgan", "fid"]
    _, _, client = local_study(path)
    best = client.get_model_version_by_alias("mitogan-planted", "best")
    assert best.run_id == board.set_index("gan").loc["dcgan", "mlflow_run_id"]


def test_sigint_mid_trial_then_resume(study_dir):
    budget = {"steps": 400, "size": 32, "batch": 8, "n_eval_samples": 32}  # ~2 s training: SIGINT lands mid-trial
    path = tiny_study(study_dir / "s.yaml", "intr", budget=budget)
    proc = mitogan("study", "--config", str(path), cwd=study_dir)
    wait_for_training(study_dir, "intr")
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 130, out
    cfg, study, client = local_study(path)
    assert_nothing_running(client, study)
    failed = study.get_trials(states=(optuna.trial.TrialState.FAIL,))
    assert len(failed) == 1 and "interrupted" in failed[0].user_attrs["failure_reason"]
    assert study.get_trials(states=(optuna.trial.TrialState.WAITING,))  # re-queued
    runs = [r for r in child_runs(client, study) if r.data.tags["mitogan.trial"] == str(failed[0].number)]
    assert len(runs) == 1 and runs[0].info.status == "KILLED"
    assert "interrupted" in runs[0].data.tags["failure_reason"]
    assert client.get_run(study.user_attrs["mlflow_parent_run_id"]).info.status == "KILLED"

    changed = tiny_study(study_dir / "changed.yaml", "intr")  # same name, other budget: refused
    proc = mitogan("study", "--config", str(changed), cwd=study_dir)
    out, _ = proc.communicate(timeout=120)
    assert proc.returncode == 2 and "different grid" in out

    proc = mitogan("study", "--config", str(path), cwd=study_dir)
    out, _ = proc.communicate(timeout=600)
    assert proc.returncode == 0, out
    assert "report:" in out and "mitogan ui" in out
    final = grid.final_trials(study)
    assert len(final) == 4 and {t.state.name for t in final.values()} == {"COMPLETE"}
    assert len(study.get_trials()) == 5  # 4 cells + the interrupted attempt; nothing ran twice
    assert len({t.user_attrs["cell"] for t in study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))}) == 4
    assert client.get_run(study.user_attrs["mlflow_parent_run_id"]).info.status == "FINISHED"
    assert_nothing_running(client, study)


def test_diverged_trial_fails_with_reason_and_study_goes_on(study_dir):
    """A discriminator that saturates at once (cell 0, dcgan: checked deterministic on the CPU):
    train returns FAILED; the trial is recorded failed with its reason, and the next cell (a
    WGAN critic, which has no saturation) still runs and completes."""
    from bench.study.runner import resolve_target, run_study
    path = tiny_study(study_dir / "s.yaml", "diverge", gans=["dcgan", "wgan"],
                      pipelines=["normalize|resize"], train={
        "width": 8, "latent_dim": 16, "lr_d": 0.05, "lr_g": 1e-6, "saturation_steps": 3, "log_every": 1})
    cfg = load_config(path)
    assert run_study(cfg, path, resolve_target(cfg, study_dir / "ws", tracking_uri=local_uri(study_dir))) == 0
    cfg, study, client = local_study(path)
    first, second = study.get_trials()
    assert first.state.name == "FAIL" and "saturated" in first.user_attrs["failure_reason"]
    assert second.state.name == "COMPLETE" and second.user_attrs["cell"] != first.user_attrs["cell"]
    run = next(r for r in child_runs(client, study) if r.data.tags["mitogan.trial"] == "0")
    assert run.info.status == "FAILED" and run.data.tags["mitogan.state"] == "FAIL"
    assert "saturated" in run.data.tags["failure_reason"]
    board = (study_dir / "ws" / "studies" / "diverge" / "leaderboard.csv").read_text()
    assert "discriminator saturated" in board
    assert_nothing_running(client, study)


def test_pruning_callback_reports_heldout_score_and_prunes(study_dir):
    from bench.study.trial import StudyContext, pruning_callback, train_config
    from models import get_variant
    cfg = load_config(tiny_study(study_dir / "s.yaml", "prune", pruning={"enabled": True, "every": 5},
                                 objectives=[{"metric": "heldout_gap", "direction": "minimize"}]))
    study = optuna.create_study(pruner=optuna.pruners.ThresholdPruner(upper=-1.0))  # prunes any score
    trial = study.ask()
    cell = cells(cfg)[0]
    ctx = StudyContext(cfg, study_dir / "ws", local_uri(study_dir), "parent")
    on_step = pruning_callback(ctx, trial, cell, train_config(cfg, cell, {}))
    G, _ = get_variant("dcgan").build(32, latent_dim=16, width=8)
    with pytest.raises(optuna.TrialPruned, match="pruned at step 5"):
        on_step(5, G)
    assert list(study._storage.get_trial(trial._trial_id).intermediate_values) == [5]
    with pytest.raises(MitoError, match="minimized"):
        load_config(tiny_study(study_dir / "m.yaml", "p", pruning={"enabled": True},
                               objectives=[{"metric": "coverage", "direction": "maximize"}]))
