"""What a study does for its best trial once every cell is done, before the report.

The best trial is rank 1 of the protocol's ranking (:func:`analysis.report.board.leaderboard`):
it is registered as ``models:/mitogan-<study>@best``, then (each switchable in the study file's
``finish:``) its discriminator is explained, the judge is run, and a synthetic set of
``generate_ratio`` × its training frames is written (``<study folder>/synthetic/<run id>``) with
its count of distinct frames. A step whose output the run already has is skipped, so rerunning
the study resumes here too; a step that fails, or the choice of the best trial itself, is
reported in one line and the report is written all the same.
"""
from __future__ import annotations

import time

from bench.errors import MitoError
from bench.study.config import StudyConfig
from bench.study.trial import StudyContext


def best_run(cfg: StudyConfig, ctx: StudyContext) -> str | None:
    """Register the rank-1 trial's model (alias ``best``) and return its run id (None: none ranked)."""
    from analysis.report.board import leaderboard
    from bench.jobs.study_data import collect
    from bench.model_log import register_best
    from bench.tracking import client
    board = leaderboard(collect(cfg.name, ctx.tracking_uri))
    top = board[board["rank"] == 1] if not board.empty else board
    if top.empty:
        print("best model: none registered (no complete trial with a verdict on an intensity pipeline)")
        return None
    name, run_id = f"mitogan-{cfg.name}", top.iloc[0]["mlflow_run_id"]
    version = register_best(client(ctx.tracking_uri), name, run_id)
    if version is not None:
        print(f"best model: models:/{name}@best (version {version.version}, trial {top.iloc[0]['trial']})")
    return run_id


def _steps(cfg: StudyConfig, ctx: StudyContext, run_id: str, out_dir):
    """``(name, done?, run)`` of every enabled finishing step."""
    from bench.jobs.generate import SYNTH_DISTINCT
    from bench.tracking import client
    c = client(ctx.tracking_uri)
    run = c.get_run(run_id)
    f, ws, uri = cfg.finish, ctx.workspace, ctx.tracking_uri
    has_explain = any(a.path.endswith("explain.json") for a in c.list_artifacts(run_id, "explain"))
    n_train = int(float(run.data.params.get("n_train", 0)))
    steps = []
    if f.explain:
        from bench.jobs.explain import explain_run
        steps.append(("explain", has_explain, lambda: explain_run(
            run_id, workspace=ws, tracking_uri=uri, n_frames=f.explain_frames, progress=False)))
    if f.judge:
        from bench.jobs.judge import judge_run
        steps.append(("judge", "c2st_acc" in run.data.metrics,
                      lambda: judge_run(run_id, workspace=ws, tracking_uri=uri, n_perm=0)))
    if f.generate:
        steps.append((f"generate {f.generate_ratio}x", SYNTH_DISTINCT in run.data.metrics,
                      lambda: _generate(run_id, out_dir / "synthetic" / run_id,
                                        f.generate_ratio * max(n_train, 1), ws, uri)))
    return steps


def _generate(run_id: str, out, n: int, ws, uri) -> None:
    """The synthetic set of ``run_id`` in its own folder; a set finished by an earlier run of the
    study (it died before logging) is replaced, since its counts cannot be re-derived."""
    import shutil

    from bench.jobs.generate import generate_run
    if (out / "manifest.json").is_file():
        shutil.rmtree(out)
    res = generate_run(run_id, out, n=n, workspace=ws, tracking_uri=uri, log=True, progress=False)
    if res["result"].vendi is None or res["real"] is None:
        raise MitoError(f"run {run_id}", "wrote the frames but could not count distinct frames ("
                        + "; ".join(res["notes"] + res["result"].notes) + ")")


def finish_best(cfg: StudyConfig, ctx: StudyContext, run_id: str, out_dir) -> None:
    """Run the enabled finishing steps for ``run_id``; one line each."""
    for name, done, step in _steps(cfg, ctx, run_id, out_dir):
        if done:
            print(f"finish: {name}: already done for run {run_id[:8]}")
            continue
        t0 = time.perf_counter()
        try:
            step()
        except Exception as err:  # noqa: BLE001 - one step failing must not cost the report
            first = (str(err).splitlines() or [type(err).__name__])[0]
            print(f"finish: {name}: failed ({type(err).__name__}: {first}); the report says what is missing")
            continue
        print(f"finish: {name} of run {run_id[:8]} ({time.perf_counter() - t0:.0f} s)")
