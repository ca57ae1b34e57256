"""Fault cases: run ownership, imports, environment faults and security (run by :mod:`bench.perf.faults`)."""
from __future__ import annotations

import os
import pickle
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

from bench.perf.fault_harness import (DEAD_OWNER, REPO, case, cli, one_line_exit_2, refused, stack,
                                      tiny_dataset)


def _run(tmp, owner, status="RUNNING"):
    from bench import ownership, tracking
    uri = f"sqlite:///{tmp / 'mlruns' / 'm.db'}"
    c = tracking.client(uri)
    exp = tracking.ensure_experiment("t", uri)
    run = c.create_run(exp, tags={ownership.OWNER_TAG: owner, "failure_reason": "old"})
    if status != "RUNNING":
        c.set_terminated(run.info.run_id, status)
    return c, run.info.run_id


@case("ownership")
def sigkilled_train_closed_killed(tmp):
    from bench import ownership
    c, rid = _run(tmp, DEAD_OWNER)
    assert ownership.close_stale_runs(c) == [rid]
    run = c.get_run(rid)
    assert run.info.status == "KILLED" and "no checkpoint" in run.data.tags["failure_reason"]


@case("ownership")
def live_owner_left_alone_and_resume_refused(tmp):
    from bench import ownership
    from bench.train import _resume
    c, rid = _run(tmp, ownership.owner_id())
    assert ownership.close_stale_runs(c) == [] and c.get_run(rid).info.status == "RUNNING"
    refused(_resume, c, rid, match="still RUNNING")


@case("ownership")
def resumed_run_loses_old_failure_reason(tmp):
    from bench import ownership
    c, rid = _run(tmp, DEAD_OWNER, status="KILLED")
    ownership.claim(c, rid)
    tags = c.get_run(rid).data.tags
    assert "failure_reason" not in tags and tags[ownership.OWNER_TAG] == ownership.owner_id()


@case("ownership")
def interrupt_names_the_run(tmp):
    from bench.train import TrainConfig, train
    tiny_dataset(tmp)
    uri = f"sqlite:///{tmp / 'mlruns' / 'm.db'}"

    def stop(step, G):
        raise KeyboardInterrupt("test")
    cfg = TrainConfig(dataset="d", steps=4, size=32, batch=4, width=8, latent_dim=8, eval_every=2,
                      n_grid=2, threads=1, log_model=False, experiment="t")
    try:
        train(cfg, workspace=tmp / "ws", tracking_uri=uri, on_step=stop, progress=False)
    except KeyboardInterrupt as err:
        from bench import tracking
        assert tracking.client(uri).get_run(err.run_id).info.status == "KILLED"
        return
    raise AssertionError("no interrupt")


# --- imports: one name, one writer; nothing left behind ---------------------------------------
@case("imports")
def concurrent_import_of_one_name(tmp):
    from bench.workspace import reserve
    from preprocessing.ingest import import_dataset
    root = tmp / "ws" / "datasets"
    with reserve(root / ".lock-x", "data set x"):  # another import of x is under way
        refused(import_dataset, [stack(tmp / "m.tif")], "x", tmp / "ws", progress=False, match="in use")
    assert not (root / "x").exists()


@case("imports")
def killed_import_leaves_nothing(tmp):
    from preprocessing.ingest import import_dataset
    root = tmp / "ws" / "datasets"
    (root / ".tmp-x-999999" / "movies").mkdir(parents=True)  # a SIGKILLed import's folder
    (root / ".lock-x").write_text(DEAD_OWNER)                  # and its reservation
    import_dataset([stack(tmp / "m.tif")], "x", tmp / "ws", progress=False)
    assert sorted(p.name for p in root.iterdir()) == ["x"]


@case("imports")
def full_disk_import(tmp):
    stack(tmp / "big.tif", t=40, size=256)
    rc, out, err = cli("data", "import", str(tmp / "big.tif"), "--name", "x", ws=tmp / "ws",
                       fsize=1 << 20)
    one_line_exit_2(rc, out, err, "disk is full")
    assert sorted(p.name for p in (tmp / "ws" / "datasets").iterdir()) == []


@case("imports")
def full_disk_preprocess_cache(tmp):
    tiny_dataset(tmp)
    rc, out, err = cli("preprocess", "--dataset", "d", "--pipeline", "normalize", "--size", "256",
                       ws=tmp / "ws", fsize=64 << 10)
    one_line_exit_2(rc, out, err)
    assert not list((tmp / "ws" / "cache" / "preprocess").iterdir())


# --- environment faults -----------------------------------------------------------------------
@case("environment")
def unwritable_workspace(tmp):
    (tmp / "blocker").write_text("a file where the workspace should be")
    stack(tmp / "m.tif")
    for args in (("data", "import", str(tmp / "m.tif"), "--name", "x"),
                 ("data", "simulate", "--name", "s", "--movies", "1", "--frames", "2")):
        one_line_exit_2(*cli(*args, ws=tmp / "blocker" / "ws", cwd=tmp), "not writable")


@case("environment")
def unwritable_mlflow_store(tmp):
    tiny_dataset(tmp)
    (tmp / "blocker").write_text("")
    rc, out, err = cli("train", "--dataset", "d", "--size", "32", "--steps", "2", "--tracking-uri",
                       f"sqlite:///{tmp / 'blocker' / 'm.db'}", ws=tmp / "ws")
    one_line_exit_2(rc, out, err)


@case("environment", slow=True)
def ui_stops_its_server_on_sighup(tmp):
    import signal
    port = 5900 + os.getpid() % 90
    p = subprocess.Popen([sys.executable, "-m", "bench.cli", "ui", "--port", str(port),
                          "--tracking-uri", f"sqlite:///{tmp / 'm.db'}"], cwd=tmp,
                         env={**os.environ, "PYTHONPATH": str(REPO)},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 180
    while time.time() < deadline and not _listening(port):
        time.sleep(1)
    assert _listening(port), "the UI did not start"
    p.send_signal(signal.SIGHUP)
    p.wait(30)
    time.sleep(3)
    assert not _listening(port), "server processes still hold the port"


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


# --- security ---------------------------------------------------------------------------------
class _Plant:
    """Unpickling this writes a marker file: a stand-in for code run by a planted pickle."""
    marker = ""

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "pwned"))


@case("security")
def planted_checkpoint_not_unpickled(tmp):
    import json

    import torch

    from bench import tracking
    from bench.train import TrainConfig, _resume
    c, rid = _run(tmp, DEAD_OWNER, status="KILLED")
    plant = _Plant()
    plant.marker = str(tmp / "pwned")
    torch.save({"step": 1, "x": plant}, tmp / "last.pt")
    (tmp / "config.json").write_text(json.dumps(TrainConfig(dataset="d").model_dump()))
    c.log_artifact(rid, str(tmp / "config.json"))
    tracking.save_artifact(c, rid, tmp / "last.pt", "checkpoints")
    try:
        _resume(c, rid)
    except Exception:  # noqa: BLE001 - refused, by whatever error torch raises
        pass
    assert not (tmp / "pwned").exists(), "the planted checkpoint ran code"


@case("security")
def caches_are_not_pickles(tmp):
    import pandas as pd

    from analysis.extractors.cache import cached_object
    df = pd.DataFrame({"a": [1.0, 2.0]})
    cached_object("m", ["k"], lambda: df, workspace=tmp / "ws")
    cached_object("f", ["k"], lambda: {"fid": 1.0}, workspace=tmp / "ws")
    files = list((tmp / "ws" / "cache").rglob("*.*"))
    assert files and all(f.suffix in (".npz", ".json") for f in files), files
    for f in files:  # planted pickles under the same names are refused, never run
        plant = _Plant()
        plant.marker = str(tmp / "pwned")
        f.write_bytes(pickle.dumps(plant))
        try:
            cached_object(f.parent.name, ["k"], lambda: df, workspace=tmp / "ws")
        except Exception:  # noqa: BLE001
            pass
    assert not (tmp / "pwned").exists()


@case("security")
def foreign_inception_weights_refused(tmp):
    from analysis.extractors import get_extractor
    fake = tmp / "weights-inception-2015-12-05-6726825d.pth"
    fake.write_bytes(b"not the weights")
    os.environ["MITOGAN_INCEPTION_WEIGHTS"] = str(fake)
    try:
        refused(get_extractor, "inception-v3-compat", match="not the published")
    finally:
        del os.environ["MITOGAN_INCEPTION_WEIGHTS"]


@case("security")
def password_masked_and_off_command_lines(tmp):
    from bench.errors import redact
    from bench.study import runner
    url = "postgresql://bob:s3cret@db.lab:5432/optuna"
    assert "s3cret" not in redact(url) and "bob" in redact(url)
    seen = []

    class Popen:
        def __init__(self, cmd, env):
            seen.append((cmd, env))
    real, runner.subprocess.Popen = runner.subprocess.Popen, Popen
    try:
        runner._spawn(tmp / "s.yaml", runner.Target(url, url, tmp), 2)
    finally:
        runner.subprocess.Popen = real
    assert seen and all("s3cret" not in " ".join(cmd) and env["MITOGAN_STORAGE"] == url
                        for cmd, env in seen)


@case("security")
def markdown_escaped(tmp):
    import pandas as pd

    from analysis.markdown import md_code
    from analysis.report.render import markdown_table
    table = markdown_table(pd.DataFrame({"dataset": ["<img src=x onerror=alert(1)>"], "pipeline": ["a|b"]}))
    assert not re.search(r"(?<!\\)[<>]", table) and "\\<img" in table and "a\\|b" in table
    assert md_code("x`y") == "`` x`y ``"
