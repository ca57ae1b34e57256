"""Which process owns a RUNNING run: ``host:pid:start`` tags, stale owners closed, resumes refused
while the owner lives.

A ``mitogan train`` run carries ``mitogan.owner = host:pid:start`` (the start time, from /proc,
tells a live process from a later one that reuses the pid). A process killed with SIGKILL (or
by the OOM killer, or a power cut) cannot close its run; the next ``mitogan train`` on the same
host finds the RUNNING run whose owner is gone and closes it KILLED with the reason, whether or
not it reached a checkpoint. ``--resume RUN_ID`` is refused while the run's owner is alive (two
processes would write the same metric steps), and on another host, where liveness is unknown.

The identity itself (``bench.workspace.owner_id``) also marks Optuna trials and import locks.
"""
from __future__ import annotations

from bench.errors import MitoError
from bench.workspace import alive, owner_id

OWNER_TAG = "mitogan.owner"
CKPT_TAG = "mitogan.checkpoint_step"


def close_stale_runs(c) -> list[str]:
    """Close KILLED every RUNNING run of this store whose owner on this host is gone; returns
    their ids. Runs without an owner tag (not ``mitogan train`` runs) are left alone."""
    from mlflow.entities import ViewType
    closed = []
    exps = [e.experiment_id for e in c.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    if not exps:
        return closed
    for run in c.search_runs(exps, filter_string="attributes.status = 'RUNNING'", max_results=5000):
        owner = run.data.tags.get(OWNER_TAG)
        if owner and alive(owner) is False:
            step = run.data.tags.get(CKPT_TAG)
            c.set_tag(run.info.run_id, "failure_reason", f"owner process {owner} is gone (killed "
                      "without a chance to close its run); " + (
                          f"resume from its step-{step} checkpoint with --resume" if step
                          else "it had no checkpoint yet: start a new run"))
            c.set_terminated(run.info.run_id, "KILLED")
            closed.append(run.info.run_id)
    return closed


def check_resumable(run) -> None:
    """Refuse to resume a run another process is still training."""
    owner = run.data.tags.get(OWNER_TAG)
    if run.info.status != "RUNNING" or not owner:
        return
    state = alive(owner)
    if state is None:
        raise MitoError(f"--resume {run.info.run_id}", f"the run is RUNNING on another host "
                        f"({owner}); resume it there, or once that process has ended")
    if state:
        raise MitoError(f"--resume {run.info.run_id}", f"the run is still RUNNING in process "
                        f"{owner}; stop it (Ctrl-C) before resuming")


def claim(c, run_id: str) -> str:
    """Tag ``run_id`` as owned by this process; a resumed run also loses its old failure_reason."""
    me = owner_id()
    c.set_tag(run_id, OWNER_TAG, me)
    if "failure_reason" in c.get_run(run_id).data.tags:
        c.delete_tag(run_id, "failure_reason")
    return me
