"""The study's MLflow side: one parent run per study, child runs tagged and never left RUNNING.

Runs are logged with ``MlflowClient`` directly (optuna-integration's ``MLflowCallback`` is
deprecated and does not nest). Child runs are created by ``bench.train.train`` with the tag
``mlflow.parentRunId`` (the UI nests them under the parent, across processes and machines) and
the tags ``mitogan.study``, ``mitogan.trial``, ``mitogan.trial_key`` and ``mitogan.cell``; the
worker adds ``mitogan.state`` (COMPLETE, PRUNED, FAIL) and ``failure_reason``.
"""
from __future__ import annotations

import optuna
from mlflow.entities import Param, RunTag

from bench.study.config import Cell, StudyConfig
from bench.tracking import client, provenance


def create_parent_run(cfg: StudyConfig, uri: str, experiment_id: str, storage_url: str) -> str:
    """The study's parent run (RUNNING until the study completes); returns its id."""
    from bench.errors import redact
    c = client(uri)
    run = c.create_run(experiment_id, run_name=f"study {cfg.name}",
                       tags={"mitogan.study": cfg.name, "mitogan.role": "study"})
    rid = run.info.run_id
    params = {"study": cfg.name, "optuna_storage": redact(storage_url),
              "datasets": ",".join(d.name for d in cfg.datasets), "pipelines": " ; ".join(cfg.pipelines),
              "gans": ",".join(cfg.gans), "diffaug": ",".join(map(str, cfg.diffaug)),
              "ada": ",".join(map(str, cfg.ada)), "output": ",".join(cfg.output),
              "seeds": ",".join(map(str, cfg.seeds)), "steps": cfg.budget.steps,
              "budget_seconds": cfg.budget.seconds,
              "size": cfg.budget.size, "batch": cfg.budget.batch,
              "objectives": ",".join(f"{o.metric}:{o.direction}" for o in cfg.objectives),
              "trials_per_cell": cfg.search.trials_per_cell, "pruning": cfg.pruning.enabled}
    c.log_batch(rid, params=[Param(k, str(v)[:6000]) for k, v in
                             {**params, **{f"prov.{k}": v for k, v in provenance().items()}}.items()])
    c.log_dict(rid, cfg.model_dump(mode="json"), "study.json")
    return rid


def set_parent_status(uri: str, run_id: str, status: str) -> None:
    """RUNNING while any process works on the study; FINISHED when complete; KILLED on interrupt."""
    c = client(uri)
    if status == "RUNNING":
        c.update_run(run_id, status="RUNNING")
    else:
        c.set_terminated(run_id, status=status)


def _runs_of(c, ctx, filter_extra: str = "") -> list:
    """The study's runs in its experiment (``ctx.experiment_id``), narrowed by ``filter_extra``."""
    flt = f"tags.`mitogan.study` = '{ctx.cfg.name}'" + filter_extra
    return c.search_runs([ctx.experiment_id], filter_string=flt, max_results=5000)


def tag_trial_runs(ctx, number: int, cell: Cell, state: str, reason: str | None,
                   values: list[float] | None) -> None:
    """Tag the child run(s) of trial ``number`` with its outcome; close any still RUNNING."""
    c = client(ctx.tracking_uri)
    tags = [RunTag("mitogan.state", state)] + ([RunTag("failure_reason", reason[:5000])] if reason else [])
    tags += [RunTag(f"objective.{o.metric}", f"{v:.6g}") for o, v in zip(ctx.cfg.objectives, values or [])]
    for run in _runs_of(c, ctx, f" and tags.`mitogan.trial_key` = '{ctx.cfg.name}:{number}'"):
        rid = run.info.run_id
        c.log_batch(rid, tags=tags)
        if run.info.status == "RUNNING":
            c.set_terminated(rid, status="KILLED")


def close_orphan_runs(ctx, study: optuna.Study) -> int:
    """Close child runs left RUNNING by a worker that died (its trial already failed/re-queued)."""
    finished = {t.number: t for t in study.get_trials(deepcopy=False) if t.state.is_finished()}
    c, n = client(ctx.tracking_uri), 0
    for run in _runs_of(c, ctx, " and attributes.status = 'RUNNING'"):
        number = run.data.tags.get("mitogan.trial")
        if number is None or int(number) not in finished:
            continue
        t = finished[int(number)]
        c.set_tag(run.info.run_id, "mitogan.state", t.state.name)
        c.set_tag(run.info.run_id, "failure_reason",
                  t.user_attrs.get("failure_reason", "worker lost (heartbeat stale); re-queued"))
        c.set_terminated(run.info.run_id, status="KILLED")
        n += 1
    return n
