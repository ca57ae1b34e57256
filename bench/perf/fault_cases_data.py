"""Fault cases: silent wrong data and bad settings (run by :mod:`bench.perf.faults`)."""
from __future__ import annotations

import socket

import numpy as np
import tifffile

from bench.perf.fault_harness import case, cli, one_line_exit_2, refused, stack, tiny_dataset


@case("silent data")
def truncated_imagej_stack(tmp):
    from preprocessing.ingest import import_dataset
    full = tmp / "full.tif"
    tifffile.imwrite(full, (np.random.default_rng(0).random((44, 64, 64)) * 6e4).astype(np.uint16),
                     imagej=True, metadata={"axes": "ZYX"})
    cut = tmp / "cut.tif"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 3])
    refused(import_dataset, [cut], "cut", tmp / "ws", progress=False, match="truncated")
    assert not (tmp / "ws" / "datasets" / "cut").exists()


@case("silent data")
def folder_holding_one_stack(tmp):
    from preprocessing.ingest import import_dataset
    (tmp / "f").mkdir()
    stack(tmp / "f" / "a.tif")
    ds = import_dataset([tmp / "f"], "f", tmp / "ws", progress=False)
    assert ds.n_frames == 6 and ds.movies[0]["shape"] == [48, 48], ds.movies


@case("silent data")
def folder_mixing_a_stack_with_frames(tmp):
    from preprocessing.ingest import import_dataset
    (tmp / "f").mkdir()
    stack(tmp / "f" / "a.tif")
    tifffile.imwrite(tmp / "f" / "b.tif", np.zeros((48, 48), np.uint16))
    refused(import_dataset, [tmp / "f"], "f", tmp / "ws", progress=False, match="stack")


@case("silent data")
def degenerate_planes(tmp):
    from preprocessing.ingest import import_dataset
    for shape in ((64, 1), (5, 64, 1), (1, 64)):
        tifffile.imwrite(tmp / "thin.tif", np.ones(shape, np.uint16))
        refused(import_dataset, [tmp / "thin.tif"], "thin", tmp / "ws", progress=False)


@case("silent data")
def channel_out_of_range(tmp):
    from preprocessing.ingest import import_dataset
    refused(import_dataset, [stack(tmp / "m.tif")], "c", tmp / "ws", channel=3, progress=False,
            match="--channel 3")
    (tmp / "f").mkdir()
    for i in range(2):
        tifffile.imwrite(tmp / "f" / f"{i}.tif", np.zeros((32, 32), np.uint16))
    refused(import_dataset, [tmp / "f"], "c", tmp / "ws", channel=1, progress=False, match="--channel 1")


@case("silent data")
def cache_and_fresh_give_identical_weights(tmp):
    import shutil

    import torch

    from bench.config import TrainConfig
    from bench.runs import load_generator
    from bench.train import train
    tiny_dataset(tmp)
    uri = f"sqlite:///{tmp / 'mlruns' / 'm.db'}"
    cfg = TrainConfig(dataset="d", steps=6, size=32, batch=4, width=8, latent_dim=8, log_every=2,
                      sample_every=100, ckpt_every=100, n_grid=2, threads=1, log_model=False,
                      experiment="t")
    weights = []
    for _ in range(2):  # first: computed in the run; second: from the cache
        res = train(cfg, workspace=tmp / "ws", tracking_uri=uri, progress=False)
        weights.append(load_generator(res.run_id, uri)[0].state_dict())
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    shutil.rmtree(tmp / "ws" / "cache")


# --- bad settings -----------------------------------------------------------------------------
BAD_SPECS = ["clahe(tiles=0)", "gaussian(sigma_px=-1)", "tile(scale=0)", "laplacian(ksize=4)",
             "normalize(p_high=150)", "nlm(h=-1)", "normalize(scope=galaxy)",
             "normalize(p_low=99,p_high=1)", "normalize(p_low=nan)", "nlm(template_px=0)"]


@case("bad settings")
def op_parameters_refused_by_dry_run(tmp):
    from bench.config import TrainConfig
    rc, out, err = cli("train", "--dataset", "x", "--pipeline", BAD_SPECS[0], "--dry-run", ws=tmp / "ws")
    one_line_exit_2(rc, out, err, "op clahe")
    for spec in BAD_SPECS[1:]:  # what --dry-run runs, in-process (a CLI start each is slow)
        refused(TrainConfig(dataset="x", pipeline=spec).resolved, match="op ")


@case("bad settings")
def training_size_out_of_range(tmp):
    from preprocessing.pipeline import prepare
    ds = tiny_dataset(tmp)
    for size in (0, -4, 5000):
        refused(prepare, ds, "normalize", size, tmp / "ws", progress=False, match="--size")


@case("bad settings")
def misspelled_objective(tmp):
    import yaml
    tiny_dataset(tmp, name="cells")
    study = tmp / "s.yaml"
    study.write_text(yaml.safe_dump({
        "name": "s", "datasets": ["cells"], "pipelines": ["normalize"], "gans": ["dcgan"],
        "budget": {"steps": 2}, "objectives": [{"metric": "heldout_gapp", "direction": "minimize"}]}))
    rc, out, err = cli("study", "--config", str(study), "--dry-run", ws=tmp / "ws")
    one_line_exit_2(rc, out, err, "heldout_gap")


@case("bad settings")
def lost_worker_says_why(tmp):
    import optuna

    from bench.study.storage import exit_reason, fail_trials_of
    assert "SIGSEGV" in exit_reason(-11) and "SIGFPE" in exit_reason(-8)
    study = optuna.create_study(storage=optuna.storages.InMemoryStorage())
    trial = study.ask()
    trial.set_user_attr("worker", f"{socket.gethostname()}:4242:99")
    trial.set_user_attr("cell", "c0")
    assert fail_trials_of(study, 4242, -8) == [trial.number]
    reason = study.trials[trial.number].user_attrs["failure_reason"]
    assert "SIGFPE" in reason, reason
    assert study.trials[-1].state == optuna.trial.TrialState.WAITING  # re-queued


# --- runs that know their owner ---------------------------------------------------------------
