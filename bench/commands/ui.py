"""``mitogan ui``: the MLflow UI on the local store (or any tracking URI), bound to 127.0.0.1."""
from __future__ import annotations

import os
import signal
import subprocess
import sys


def _interrupt(signum, frame):
    raise KeyboardInterrupt(signal.Signals(signum).name)


def _die_with_parent() -> None:
    """In the server (before exec): SIGTERM it when ``mitogan ui`` dies, even by SIGKILL (Linux)."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: SIGINT / SIGTERM / SIGHUP still stop the server below


def _ui(args) -> int:
    from bench.errors import redact
    from bench.tracking import resolve_tracking_uri
    uri = resolve_tracking_uri(args.tracking_uri)
    # the store URI in the environment, not on the command line: `ps` would show a password
    env = {**os.environ, "MLFLOW_BACKEND_STORE_URI": uri}
    cmd = [sys.executable, "-m", "mlflow", "ui", "--host", args.host, "--port", str(args.port)]
    shown = redact(uri)
    print(f"MLflow UI on http://{args.host}:{args.port} (store {shown}); Ctrl-C to stop\n"
          f"the same with MLflow alone: mlflow ui --backend-store-uri '{shown}'"
          + ("  (the project's store is mlruns/mlflow.db; a plain `mlflow ui` opens ./mlflow.db)"
             if uri.endswith("/mlruns/mlflow.db") else ""), flush=True)
    for sig in (signal.SIGTERM, signal.SIGHUP):  # kill, or the terminal closed: stop the server too
        signal.signal(sig, _interrupt)
    proc = subprocess.Popen(cmd, env=env, start_new_session=True,  # its own group: mlflow forks
                            preexec_fn=_die_with_parent)         # uvicorn workers
    try:
        return proc.wait()
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        return 0


def register(sub) -> None:
    p = sub.add_parser("ui", help="open the MLflow UI on the study runs")
    p.add_argument("--tracking-uri", default=None,
                   help="default: $MLFLOW_TRACKING_URI, else the SQLite store under ./mlruns")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=5000)
    p.set_defaults(func=_ui)
