"""Fault injection: bad inputs, bad settings, killed processes, races, unwritable or full disks
and planted files, each replayed against the real code; prints ``tried / held`` by category.

    python -m bench.perf.faults [--slow] [-k SUBSTRING]

A case *holds* when the fault is refused or survived as the Standards demand: one line naming
the file or option, exit 2 at the CLI, nothing half-written, nothing left RUNNING, no silent
wrong data. ``tests/test_faults.py`` runs the same cases (all but ``slow`` ones) under pytest.
Read-only and full disks are simulated in ways that stop root too: a file where a folder is
expected, and ``RLIMIT_FSIZE`` in a subprocess (Python ignores SIGXFSZ, so writes fail EFBIG).
"""
from __future__ import annotations

import argparse
import os
import pickle
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np
import tifffile

from bench.errors import MitoError

REPO = Path(__file__).resolve().parents[2]
DEAD_OWNER = f"{socket.gethostname()}:999999:1"  # a pid above pid_max: never alive


@dataclass
class Case:
    category: str
    name: str
    fn: Callable[[Path], None]  # raises when the fault is not held
    slow: bool = False


CASES: list[Case] = []


def case(category: str, slow: bool = False):
    def deco(fn):
        CASES.append(Case(category, fn.__name__, fn, slow))
        return fn
    return deco


def refused(fn, *args, match: str = "", **kw) -> str:
    """``fn(...)`` must raise a one-line ``MitoError`` containing ``match``; returns it."""
    try:
        fn(*args, **kw)
    except MitoError as err:
        assert "\n" not in str(err) and match in str(err), str(err)
        return str(err)
    raise AssertionError(f"{fn.__name__}{args} was accepted")


def cli(*args, ws: Path, fsize: int | None = None, env: dict | None = None, timeout=300, cwd=None):
    """``mitogan ARGS`` in a subprocess → ``(rc, stdout, stderr)``; ``fsize``: RLIMIT_FSIZE bytes."""
    limit = (lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))) if fsize else None
    p = subprocess.run([sys.executable, "-m", "bench.cli", *args], capture_output=True, text=True,
                       cwd=cwd or ws.parent, timeout=timeout, preexec_fn=limit,
                       env={**os.environ, "PYTHONPATH": str(REPO), "MITOGAN_WORKSPACE": str(ws),
                            "OMP_NUM_THREADS": "1", **(env or {})})
    return p.returncode, p.stdout, p.stderr


def one_line_exit_2(rc, out, err, match=""):
    """Exit 2 and one ``error:`` line (besides progress bars), no traceback."""
    lines = [ln for ln in err.splitlines() if ln.startswith("error: ")]
    assert rc == 2 and len(lines) == 1 and match in lines[0] and "Traceback" not in err, \
        f"rc={rc} stderr={err[-600:]}"


def stack(path: Path, t=6, size=48, seed=0) -> Path:
    rng = np.random.default_rng(seed)
    tifffile.imwrite(path, (rng.random((t, size, size)) * 4000).astype(np.uint16),
                     photometric="minisblack")
    return path


def tiny_dataset(tmp: Path, name="d", movies=3):
    from preprocessing.ingest import import_dataset
    paths = [stack(tmp / f"m{i}.tif", seed=i) for i in range(movies)]
    return import_dataset(paths, name, tmp / "ws", progress=False)


# --- silent wrong data ------------------------------------------------------------------------
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
        "budget": {"steps": 2}, "objectives": [{"metric": "commn_morph_fd", "direction": "minimize"}]}))
    rc, out, err = cli("study", "--config", str(study), "--dry-run", ws=tmp / "ws")
    one_line_exit_2(rc, out, err, "common_morph_fd")


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


def run(cases: list[Case]) -> dict:
    """Run ``cases``; returns ``{category: [tried, held, [failed names]]}`` and prints the table."""
    table = defaultdict(lambda: [0, 0, []])
    for c in cases:
        with tempfile.TemporaryDirectory(prefix=f"fault-{c.name}-") as tmp:
            t0 = time.perf_counter()
            try:
                c.fn(Path(tmp))
                ok, why = True, ""
            except Exception as err:  # noqa: BLE001 - a case not held, whatever the way
                ok, why = False, f"{type(err).__name__}: {str(err)[:200]}"
            row = table[c.category]
            row[0] += 1
            row[1] += ok
            if not ok:
                row[2].append(c.name)
            print(f"{'held' if ok else 'NOT HELD':8s} {c.category:13s} {c.name:42s} "
                  f"{time.perf_counter() - t0:6.1f} s {why}", flush=True)
    print(f"\n{'category':14s} tried / held")
    for cat, (tried, held, _) in table.items():
        print(f"{cat:14s} {tried:5d} / {held}")
    total = [sum(r[0] for r in table.values()), sum(r[1] for r in table.values())]
    print(f"{'all':14s} {total[0]:5d} / {total[1]}")
    return dict(table)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slow", action="store_true", help="also the slow cases (mitogan ui)")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    a = ap.parse_args(argv)
    table = run([c for c in CASES if (a.slow or not c.slow) and a.k in c.name])
    return 0 if all(r[0] == r[1] for r in table.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
