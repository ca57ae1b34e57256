"""``mitogan study``: set the study up once, run N workers, finish with the report.

Every machine runs the same command; the first to arrive creates the Optuna study, its MLflow
experiment and parent run, and enqueues the grid; the others join. Each machine's workers claim
cells until none is left; whoever sees the study complete writes the report and attaches it to
the parent run. Re-running the command resumes: finished trials are kept, interrupted ones redone.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from optuna.trial import TrialState
from tqdm import tqdm

from bench.errors import MitoError
from bench.study import grid, runs
from bench.study.config import StudyConfig, cells
from bench.errors import redact
from bench.study import STORAGE_ENV, TRACKING_ENV
from bench.study.gpus import worker_envs
from bench.study.objectives import check_objectives
from bench.study.storage import default_storage_url, exit_reason, fail_trials_of, open_storage
from bench.study.trial import StudyContext, train_config
from bench.study.worker import install_sigterm, worker_loop
from bench.threads import worker_env


@dataclass
class Target:
    """Where a study lives: Optuna storage URL, MLflow tracking URI, workspace."""
    storage_url: str
    tracking_uri: str
    workspace: Path
    heartbeat_s: int = 30


def resolve_target(cfg: StudyConfig, workspace: Path, storage: str | None = None,
                   tracking_uri: str | None = None, heartbeat_s: int = 30) -> Target:
    """Flags beat the study file beat the defaults (journal + SQLite under ``./mlruns``)."""
    from bench.tracking import resolve_tracking_uri
    return Target(storage or cfg.storage or default_storage_url(),
                  resolve_tracking_uri(tracking_uri or cfg.tracking_uri), workspace, heartbeat_s)


def validate(cfg: StudyConfig, workspace: Path) -> None:
    """Refuse a bad grid before anything is created: data sets, pipelines, variants, TrainConfig."""
    from pydantic import ValidationError

    from models import list_variants
    from preprocessing.dataset import Dataset
    for d in cfg.datasets:
        if d.source is not None:
            missing = [p for p in d.source.paths if not Path(p).exists()]
            if missing:  # needed only while the data set is not imported yet
                try:
                    Dataset.load(d.name, workspace)
                except MitoError:
                    raise MitoError(f"datasets.{d.name}.source.paths", f"{missing[0]}: not found")
        elif d.simulate is None:
            Dataset.load(d.name, workspace)  # MitoError names the missing data set
    for i, p in enumerate(cfg.pipelines):
        try:
            grid.pipeline_ops(p)
        except MitoError as err:
            raise MitoError(f"pipelines.{i}", f"{p!r}: {err.problem}")
    check_objectives(cfg)
    for i, g in enumerate(cfg.gans):
        if g not in list_variants():
            raise MitoError(f"gans.{i}", f"unknown GAN variant {g!r} (known: {', '.join(list_variants())})")
    try:
        train_config(cfg, cells(cfg)[0], {k: (r.choices[0] if r.choices else r.low)
                                          for k, r in cfg.search.params.items()})
    except ValidationError as err:
        e = err.errors()[0]
        raise MitoError(f"train.{'.'.join(map(str, e['loc']))}", e["msg"])


def ensure_datasets(cfg: StudyConfig, workspace: Path) -> None:
    """Create the ``simulate:`` and ``source:`` data sets that are not in the workspace yet.

    Goes through the functions behind ``mitogan data simulate --import`` and ``mitogan data
    import``, so the data set (movies, ground truth, per-movie ``meta``) is the one those
    commands make with the same arguments.
    """
    from preprocessing.dataset import Dataset
    from preprocessing.ingest import import_dataset
    from preprocessing.simulator.cli import simulate_dataset
    for d in cfg.datasets:
        try:
            Dataset.load(d.name, workspace)
            continue
        except MitoError:
            if d.simulate is None and d.source is None:
                raise
        if d.source is not None:
            s = d.source
            import_dataset(s.paths, d.name, workspace, rois=s.roi or None, channel=s.channel, z=s.z,
                           frames=s.frames, intensity_range=s.intensity_range)
            continue
        sim = dict(d.simulate)
        unknown = set(sim) - {"movies", "frames", "size_yx", "seed", "classes", "params"}
        if unknown:
            raise MitoError(f"datasets.{d.name}.simulate", f"unknown key(s) {sorted(unknown)} "
                            "(known: movies, frames, size_yx, seed, classes, params)")
        size = list(sim.get("size_yx", [256, 256]))  # [H, W], or [S] for a square
        simulate_dataset(workspace, d.name, movies=sim.get("movies", 4), frames=sim.get("frames", 100),
                         size_yx=(size[0], size[-1]), seed=sim.get("seed", 0),
                         classes=sim.get("classes"), params=sim.get("params"))


def connect(cfg: StudyConfig, target: Target):
    """Storage, study (created or joined) and the shared trial context."""
    from bench.tracking import ensure_experiment
    exp_id = ensure_experiment(cfg.experiment, target.tracking_uri)  # MLflow db created once, here
    storage = open_storage(target.storage_url, target.heartbeat_s)
    study, _ = grid.setup_study(cfg, storage, lambda: runs.create_parent_run(
        cfg, target.tracking_uri, exp_id, target.storage_url))
    ctx = StudyContext(cfg, target.workspace, target.tracking_uri,
                       study.user_attrs["mlflow_parent_run_id"], exp_id)
    return storage, study, ctx


def report_dir(cfg: StudyConfig, workspace: Path) -> Path:
    return workspace / "studies" / cfg.name


def _spawn(config_path: Path, target: Target, n: int, gpus=None) -> list[subprocess.Popen]:
    env = {**os.environ, **worker_env(n),  # each worker's trainings take 1/n of the cores;
           STORAGE_ENV: target.storage_url, TRACKING_ENV: target.tracking_uri}  # URLs off `ps`
    cmd = [sys.executable, "-m", "bench.cli", "--workspace", str(target.workspace), "study",
           "--config", str(config_path), "--worker", "--heartbeat", str(target.heartbeat_s)]
    return [subprocess.Popen(cmd, env=e) for e in worker_envs(env, n, gpus)]


def _watch(study, procs: list[subprocess.Popen], total: int) -> list[str]:
    """Progress until every worker has ended; a worker that died has its trials failed with
    how it died (re-queued for the others). Returns those exit reasons."""
    lost: dict[int, str] = {}

    def reap():
        for p in procs:
            if p.poll() not in (None, 0) and p.pid not in lost:
                lost[p.pid] = f"worker {p.pid} {exit_reason(p.returncode)}"
                fail_trials_of(study, p.pid, p.returncode)

    with tqdm(total=total, unit="cell", desc="study") as bar:
        while any(p.poll() is None for p in procs):
            bar.n = grid.progress(study)["done"]
            bar.refresh()
            reap()
            time.sleep(1.0)
        reap()
        bar.n = grid.progress(study)["done"]
        bar.refresh()
    return list(lost.values())


def run_study(cfg: StudyConfig, config_path: Path, target: Target, workers: int = 1,
              gpus: list[str] | None = None) -> int:
    """Set up (or join) the study, run ``workers`` workers here (round-robin over ``gpus``, see
    ``bench.study.gpus``), report when complete."""
    validate(cfg, target.workspace)
    ensure_datasets(cfg, target.workspace)
    install_sigterm()
    storage, study, ctx = connect(cfg, target)
    runs.set_parent_status(ctx.tracking_uri, ctx.parent_run_id, "RUNNING")
    total = len(cells(cfg))
    print(f"study {cfg.name}: {total} cells, {grid.progress(study)['done']} done; "
          f"storage {redact(target.storage_url)}; tracking {redact(target.tracking_uri)}", flush=True)
    procs = []
    try:
        if workers == 1:
            if gpus is not None:  # before CUDA starts in this process
                os.environ["CUDA_VISIBLE_DEVICES"] = worker_envs(dict(os.environ), 1, gpus)[0].get(
                    "CUDA_VISIBLE_DEVICES", "")
            ctx.progress = False  # one bar: the study's
            with tqdm(total=total, initial=grid.progress(study)["done"], unit="cell", desc="study") as bar:
                def on_trial(n, out):
                    tqdm.write(trial_line(n, out))
                    bar.update(grid.progress(study)["done"] - bar.n)
                worker_loop(study, storage, ctx, on_trial=on_trial)
        else:
            procs = _spawn(config_path, target, workers, gpus)
            lost = _watch(study, procs, total)
            state = grid.progress(study)
            if lost and (state["waiting"] or state["done"] < total):
                runs.set_parent_status(ctx.tracking_uri, ctx.parent_run_id, "FAILED")
                print(f"error: study {cfg.name}: every worker ended with cells left "
                      f"({state['done']}/{total} done): {'; '.join(lost)}; run the same command "
                      "to resume", file=sys.stderr)
                return 3
    except KeyboardInterrupt:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            p.wait()
        if not study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            runs.set_parent_status(ctx.tracking_uri, ctx.parent_run_id, "KILLED")
        print(f"interrupted; run the same command to resume study {cfg.name}", file=sys.stderr)
        return 130
    return finish(cfg, study, ctx)


def finish(cfg: StudyConfig, study, ctx: StudyContext) -> int:
    """Write and attach the report when every cell is done; else say who is still working."""
    state = grid.progress(study)
    if state["done"] < len(cells(cfg)) or state["running"] or state["waiting"]:
        print(f"study {cfg.name}: {state['done']}/{len(cells(cfg))} cells done, "
              f"{state['running']} running elsewhere; the last worker to finish writes the report")
        return 0
    runs.close_orphan_runs(ctx, study)
    final = grid.final_trials(study).values()
    if not any(t.state == TrialState.COMPLETE for t in final):
        reasons = Counter(t.user_attrs.get("failure_reason") or t.state.name for t in final)
        runs.set_parent_status(ctx.tracking_uri, ctx.parent_run_id, "FAILED")
        print(f"error: study {cfg.name}: no cell completed ({len(final)} ended); "
              + "; ".join(f"{n}x {r}" for r, n in reasons.most_common(3)), file=sys.stderr)
        return 3
    runs.set_parent_status(ctx.tracking_uri, ctx.parent_run_id, "FINISHED")
    from bench.jobs.report import build_report  # late: the report pulls in matplotlib and captum
    from bench.study.finish import best_run, finish_best
    try:
        best = best_run(cfg, ctx)
        if best is not None:
            finish_best(cfg, ctx, best, report_dir(cfg, ctx.workspace))
    except Exception as err:  # noqa: BLE001 - the finishing steps are extras: the report goes on
        print(f"finish: stopped ({type(err).__name__}: {(str(err).splitlines() or [''])[0]}); "
              "the report says what is missing")
    page = build_report(cfg.name, report_dir(cfg, ctx.workspace), tracking_uri=ctx.tracking_uri,
                        workspace=ctx.workspace)
    print(f"summary: {page.markdown}")
    print(f"report: {page.html}")
    uri = redact(ctx.tracking_uri)
    print(f"open the MLflow UI: mitogan ui --tracking-uri '{uri}'   "
          f"(or: mlflow ui --backend-store-uri '{uri}')")
    return 0


def trial_line(number: int, out) -> str:
    """``trial 3 COMPLETE 0.412, 0.733 (run 5f2c…, 41 s) on cuda:0``: a worker's one line per trial."""
    vals = ", ".join(f"{v:.4g}" for v in out.values or [])
    secs = sum((out.timings or {}).values())
    dev = os.environ.get("CUDA_VISIBLE_DEVICES")
    where = f" on GPU {dev}" if dev else ""
    return (f"trial {number} {out.state}{' ' + vals if vals else ''}"
            f"{' (' + out.reason + ')' if out.reason and out.state != 'COMPLETE' else ''}"
            f" [{secs:.0f} s{', run ' + out.run_id[:8] if out.run_id else ''}]{where}")


def run_worker(cfg: StudyConfig, target: Target) -> int:
    """``--worker``: join the (already set-up) study and claim cells until none is left."""
    install_sigterm()  # training sets its threads (bench.threads) from $MITOGAN_WORKERS
    storage, study, ctx = connect(cfg, target)
    ctx.progress = False  # the study process draws the one bar; a worker prints a line per trial
    try:
        worker_loop(study, storage, ctx, on_trial=lambda n, out: print(trial_line(n, out), flush=True))
    except KeyboardInterrupt:
        return 130
    return 0
