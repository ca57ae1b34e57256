"""``mitogan train``: real (tiny) training recorded in a real SQLite MLflow store in a tmp dir."""
from __future__ import annotations

import os
import signal
from importlib import metadata
import subprocess
import sys
import time

import mlflow
import numpy as np
import pytest
import torch

import models
from bench import tracking
from bench.cli import main as cli
from bench.errors import MitoError
from bench.config import TrainConfig
from bench.runs import load_generator
from bench.train import train
from models.sampling import sample
from tests.conftest import cells_dataset

torch.set_num_threads(1)
TINY = dict(size=32, batch=8, width=8, latent_dim=16, log_every=2, sample_every=2, ckpt_every=4,
            n_grid=4, threads=1, experiment="t")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    """A workspace with data set ``tiny`` (4 movies × 6 frames, 40 px) and a SQLite store."""
    root = tmp_path_factory.mktemp("train")
    ws = root / "ws"
    ds = cells_dataset(root, ws, name="tiny", size=40)
    uri = f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"
    tracking.ensure_experiment("t", uri)  # once, before any parallel use
    return {"ws": ws, "uri": uri, "ds": ds, "root": root}


def _cfg(**kw) -> TrainConfig:
    return TrainConfig(**{"dataset": "tiny", "pipeline": "normalize|resize", "steps": 4, **TINY, **kw})


def _history(c, run_id, key):
    return [(m.step, m.value) for m in sorted(c.get_metric_history(run_id, key), key=lambda m: m.step)]


@pytest.mark.parametrize("gan", models.list_variants())
def test_each_variant_trains_and_records_its_run(env, gan):
    res = train(_cfg(gan=gan, diffaug=True, ema=gan == "dcgan", log_model=gan == "dcgan"),
                workspace=env["ws"], tracking_uri=env["uri"], progress=False)
    assert res.status == "FINISHED" and res.steps_done == 4
    c = tracking.client(env["uri"])
    run = c.get_run(res.run_id)
    p, m = run.data.params, run.data.metrics
    assert p["gan"] == gan and p["data_hash"] == env["ds"].hash and p["seed"] == "0"
    assert p["lr_g"] not in ("None", "") and p["n_critic"] == str(models.get_variant(gan).n_critic)
    assert p["git_commit"] and p["version.torch"] == metadata.version("torch")
    train_ids, held_ids = env["ds"].split(0.25, 0)
    assert int(p["n_train"]) == 6 * len(train_ids) and int(p["n_heldout"]) == 6 * len(held_ids) > 0
    assert [s for s, _ in _history(c, res.run_id, "loss_d")] == [2, 4]
    for key in ("loss_d", "loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g", "lr_d",
                "lr_g", "images_per_s", "train_seconds", "images_seen", "train_gflops"):
        assert np.isfinite(m[key]), key
    assert ("wasserstein" in m) == (gan in ("wgan", "wgan-gp"))
    assert ("gp" in m) == (gan == "wgan-gp") and ("r1" in m) == (gan == "r1")
    arts = {a.path for a in c.list_artifacts(res.run_id)}
    assert {"config.json", "checkpoints", "loss_curves.png", "images"} <= arts
    assert {a.path for a in c.list_artifacts(res.run_id, "checkpoints")} == {
        "checkpoints/last.pt", "checkpoints/generator.pt"}
    grids = [a.path for a in c.list_artifacts(res.run_id, "images") if a.path.endswith(".png")]
    assert len(grids) == 2 and all("samples+step+" in g for g in grids)  # steps 2 and 4
    G, cfg = load_generator(res.run_id, env["uri"])
    assert cfg.gan == gan and not G.training
    x = sample(G, 5, seed=1)
    assert x.shape == (5, 1, 32, 32) and 0 <= x.min() and x.max() <= 1
    assert np.array_equal(x, sample(G, 5, seed=1)) and not np.array_equal(x, sample(G, 5, seed=2))
    if gan == "dcgan":
        _check_mlflow_conventions(c, run, env, G)


def _check_mlflow_conventions(c, run, env, G):
    """Standard source tags, a name that tells trials apart, the data set as a dataset input
    with its hash as digest, and a generator that loads where the project cannot be imported."""
    tags = run.data.tags
    assert run.info.run_name == "dcgan+da+ema normalize s0"
    assert tags["mlflow.source.git.commit"] == run.data.params["git_commit"].split("+")[0]
    assert len(tags["mlflow.source.git.commit"]) == 40 and tags["mlflow.source.type"] == "LOCAL"
    assert tags["mitogan.device"] == "cpu"
    (inp,) = run.inputs.dataset_inputs
    assert inp.dataset.name == "tiny" and inp.dataset.digest == env["ds"].hash[:36]
    assert {t.key: t.value for t in inp.tags}["mlflow.data.context"] == "training"
    mlflow.set_tracking_uri(env["uri"])  # a models:/ URI resolves through the global store
    local = mlflow.artifacts.download_artifacts(tags["mitogan.model_uri"], dst_path=str(env["root"] / "model"))
    z = torch.randn(3, 16, generator=torch.Generator().manual_seed(5))
    np.save(env["root"] / "z.npy", z.numpy())
    with torch.no_grad():
        want = ((G(z) + 1) / 2).clamp(0, 1).numpy()  # the EMA generator, as images in [0, 1]
    # -S: no site (so no editable-install finder), cwd a temp dir, sys.path = site-packages only.
    site = [p for p in sys.path if p.endswith("site-packages")]
    code = (
        "import importlib.util, sys, numpy as np, mlflow.pytorch, torch\n"
        "assert all(importlib.util.find_spec(m) is None for m in ('bench', 'models', 'preprocessing')), sys.path\n"
        f"m = mlflow.pytorch.load_model({local!r})\n"
        f"x = m(torch.from_numpy(np.load({str(env['root'] / 'z.npy')!r}))).numpy()\n"
        f"np.save({str(env['root'] / 'out.npy')!r}, x)\n"
        "from mlflow.models import Model\n"
        f"sig = Model.load({local!r}).signature.to_dict()\n"
        "print(sig['inputs'], sig['outputs'])\n")
    out = subprocess.run([sys.executable, "-S", "-c", code], cwd=env["root"], capture_output=True,
                         text=True, env={"PATH": os.environ["PATH"], "PYTHONPATH": os.pathsep.join(site),
                                         "MLFLOW_DISABLE_TELEMETRY": "true"}, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert '"shape": [-1, 16]' in out.stdout and '"shape": [-1, 1, 32, 32]' in out.stdout
    assert np.allclose(np.load(env["root"] / "out.npy"), want, atol=1e-5)


def test_same_seed_gives_identical_losses_on_cpu(env):
    runs = [train(_cfg(gan="wgan-gp", steps=3, log_every=1, diffaug=True), workspace=env["ws"],
                  tracking_uri=env["uri"], progress=False) for _ in range(2)]
    c = tracking.client(env["uri"])
    for key in ("loss_d", "loss_g", "gp"):
        a, b = (_history(c, r.run_id, key) for r in runs)
        assert len(a) == 3 and a == b
    other = train(_cfg(gan="wgan-gp", steps=3, log_every=1, diffaug=True, seed=1),
                  workspace=env["ws"], tracking_uri=env["uri"], progress=False)
    assert _history(c, other.run_id, "loss_d") != _history(c, runs[0].run_id, "loss_d")


def test_resume_continues_exactly_like_an_uninterrupted_run(env):
    cfg = _cfg(gan="dcgan", steps=6, diffaug=True, ema=True, eval_every=3, log_every=1)
    full = train(cfg, workspace=env["ws"], tracking_uri=env["uri"], progress=False)

    def stop_at_3(step, G):
        raise KeyboardInterrupt("test stop")

    with pytest.raises(KeyboardInterrupt):
        train(cfg, workspace=env["ws"], tracking_uri=env["uri"], progress=False, on_step=stop_at_3)
    c = tracking.client(env["uri"])
    cut = c.search_runs([tracking.ensure_experiment("t", env["uri"])],
                        "attributes.status = 'KILLED'", order_by=["attributes.start_time DESC"])[0]
    assert cut.data.tags["mitogan.checkpoint_step"] == "3"
    assert cut.data.tags["failure_reason"].startswith("interrupted at step 3")
    res = train(None, workspace=env["ws"], tracking_uri=env["uri"], progress=False,
                resume_run_id=cut.info.run_id)
    assert res.status == "FINISHED" and res.steps_done == 6
    assert c.get_run(cut.info.run_id).info.status == "FINISHED"
    with pytest.raises(MitoError, match="already FINISHED"):
        train(None, workspace=env["ws"], tracking_uri=env["uri"], resume_run_id=cut.info.run_id)
    for key in ("loss_d", "loss_g", "d_real"):
        assert _history(c, res.run_id, key) == _history(c, full.run_id, key)
    for prefer_ema in (True, False):
        g_full, _ = load_generator(full.run_id, env["uri"], prefer_ema)
        g_res, _ = load_generator(res.run_id, env["uri"], prefer_ema)
        for a, b in zip(g_full.state_dict().values(), g_res.state_dict().values()):
            assert torch.equal(a, b)


def test_divergence_ends_failed_with_reason_and_exit_3(env, capsys):
    rc = cli(["--workspace", str(env["ws"]), "train", "--dataset", "tiny", "--gan", "lsgan",
              "--size", "32", "--steps", "50", "--batch", "8", "--width", "8", "--latent-dim", "16",
              "--lr-d", "1e6", "--lr-g", "1e6", "--experiment", "t", "--tracking-uri", env["uri"],
              "--set", "log_every=2", "--set", "log_model=false", "--set", "threads=1"])
    err = capsys.readouterr().err
    assert rc == 3 and "Traceback" not in err and "FAILED" in err and "non-finite" in err
    c = tracking.client(env["uri"])
    run = c.search_runs([tracking.ensure_experiment("t", env["uri"])],
                        "attributes.status = 'FAILED'", order_by=["attributes.start_time DESC"])[0]
    assert run.data.tags["failure_reason"].startswith("non-finite")
    step = int(run.data.tags["failure_reason"].rsplit(" ", 1)[1])
    grids = [a.path for a in c.list_artifacts(run.info.run_id, "images") if a.path.endswith(".png")]
    assert any(f"samples+step+{step}+" in g for g in grids)  # the last grid, at the failing step


def test_bad_input_is_one_line_exit_2(env, capsys):
    base = ["--workspace", str(env["ws"]), "train", "--tracking-uri", env["uri"]]
    assert cli(base + ["--dataset", "tiny", "--gan", "nope"]) == 2
    assert "unknown GAN variant 'nope'" in capsys.readouterr().err
    assert cli(base + ["--dataset", "tiny", "--size", "48"]) == 2
    assert "48 px is not supported" in capsys.readouterr().err
    assert cli(base + ["--resume", "0123456789abcdef"]) == 2
    assert "not found" in capsys.readouterr().err
    assert cli(base + ["--dataset", "tiny", "--gan", "wgan-gp", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert '"n_critic": 5' in out and '"lr_g": 0.0001' in out and '"gp_lambda": 10.0' in out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_interrupted_cli_run_ends_killed_with_checkpoint(env, sig):
    exp = f"sig{int(sig)}"
    tracking.ensure_experiment(exp, env["uri"])
    cmd = [sys.executable, "-m", "bench.cli", "--workspace", str(env["ws"]), "train",
           "--dataset", "tiny", "--gan", "dcgan", "--size", "32", "--steps", "100000", "--batch",
           "8", "--width", "8", "--latent-dim", "16", "--experiment", exp, "--tracking-uri",
           env["uri"], "--set", "log_every=1", "--set", "log_batch=1", "--set", "threads=1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    c = tracking.client(env["uri"])
    deadline = time.time() + 90
    while time.time() < deadline:  # wait until training has logged a few steps
        runs = c.search_runs([tracking.ensure_experiment(exp, env["uri"])])
        if runs and runs[0].data.metrics.get("loss_d") is not None and len(
                c.get_metric_history(runs[0].info.run_id, "loss_d")) >= 3:
            break
        time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("training did not start in 90 s")
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    run = c.get_run(runs[0].info.run_id)
    assert run.info.status == "KILLED"
    assert run.data.tags["failure_reason"].startswith("interrupted at step")
    step = int(run.data.tags["mitogan.checkpoint_step"])
    assert step >= 3
    assert {a.path for a in c.list_artifacts(run.info.run_id, "checkpoints")} >= {"checkpoints/last.pt"}
    ckpt = tracking.download(c, run.info.run_id, "checkpoints/last.pt", env["root"] / exp)
    assert torch.load(ckpt, weights_only=False)["step"] == step


def test_seconds_budget_ends_training_and_logs_its_compute(env, capsys):
    budget = 1.5
    cfg = _cfg(gan="dcgan", steps=1_000_000, max_seconds=budget, log_every=25, sample_every=10**6,
               ckpt_every=10**6)
    res = train(cfg, workspace=env["ws"], tracking_uri=env["uri"], progress=False)
    assert res.status == "FINISHED" and 10 < res.steps_done < 1_000_000
    c = tracking.client(env["uri"])
    m = c.get_run(res.run_id).data.metrics
    assert budget <= m["train_seconds"] < budget + 0.5  # stops at the first step past the budget
    assert m["steps_done"] == res.steps_done and m["images_seen"] == 8 * res.steps_done
    flops = m["train_gflops"] * 1e9 / res.steps_done
    wide = train(_cfg(gan="dcgan", steps=2, width=16), workspace=env["ws"], tracking_uri=env["uri"],
                 progress=False)
    wide_flops = c.get_run(wide.run_id).data.metrics["train_gflops"] * 1e9 / 2
    assert 3.0 < wide_flops / flops < 4.2  # convolutions cost channels_in × channels_out ∝ width²
    cli_base = ["--workspace", str(env["ws"]), "train", "--dataset", "tiny", "--tracking-uri", env["uri"]]
    assert cli(cli_base + ["--seconds", "2", "--dry-run"]) == 0
    assert '"max_seconds": 2.0' in capsys.readouterr().out
    assert cli(cli_base + ["--seconds", "0"]) == 2
    assert "max_seconds" in capsys.readouterr().err


def test_resumed_run_spends_only_the_rest_of_its_seconds(env):
    cfg = _cfg(gan="dcgan", steps=1_000_000, max_seconds=1.0, log_every=5, eval_every=5,
               sample_every=10**6, ckpt_every=10**6)

    def stop(step, G):
        raise KeyboardInterrupt("test stop")

    with pytest.raises(KeyboardInterrupt) as cut:
        train(cfg, workspace=env["ws"], tracking_uri=env["uri"], progress=False, on_step=stop)
    c = tracking.client(env["uri"])
    at_cut = _history(c, cut.value.run_id, "train_seconds")
    assert at_cut[-1][0] == 5 and at_cut[-1][1] < 1.0
    res = train(None, workspace=env["ws"], tracking_uri=env["uri"], progress=False,
                resume_run_id=cut.value.run_id)
    assert res.status == "FINISHED" and res.steps_done > 5
    seconds = _history(c, res.run_id, "train_seconds")
    assert seconds[-1][1] < 1.5  # the budget once, not once per session
    assert all(b > a for (_, a), (_, b) in zip(seconds, seconds[1:]))  # carried across the resume


def test_flop_count_matches_torch_and_counts_the_penalties():
    """``bench.compute.FlopCount`` gives torch's ``FlopCounterMode`` count where that one works,
    and counts the gradient penalties' double backward, which that one refuses."""
    from torch.utils.flop_counter import FlopCounterMode
    from bench.compute import FlopCount
    from models.trainer import GANTrainer

    def one_step(gan, mode):
        torch.manual_seed(0)
        variant = models.get_variant(gan)
        G, D = variant.build(32, 8, 4)
        trainer = GANTrainer(variant, G, D, batch=4, latent_dim=8, seed=0)
        with mode as counter:
            trainer.step(lambda: torch.zeros(4, 1, 32, 32))
        return counter

    ours = one_step("dcgan", FlopCount()).total
    assert ours > 0 and ours == one_step("dcgan", FlopCounterMode(display=False)).get_total_flops()
    with pytest.raises(RuntimeError):
        one_step("wgan-gp", FlopCounterMode(display=False))
    # the same 5 critic steps as wgan, plus each one's penalty (a forward and double backward
    # through D on the interpolates): 24.4M → 44.1M FLOPs here
    assert one_step("wgan-gp", FlopCount()).total > 1.5 * one_step("wgan", FlopCount()).total
