"""``mitogan ui``: the MLflow UI on the local store (or any tracking URI), bound to 127.0.0.1."""
from __future__ import annotations

import os
import signal
import subprocess
import sys


def _ui(args) -> int:
    from bench.study.worker import install_sigterm
    from bench.tracking import resolve_tracking_uri
    uri = resolve_tracking_uri(args.tracking_uri)
    cmd = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
           "--host", args.host, "--port", str(args.port)]
    print(f"MLflow UI on http://{args.host}:{args.port} (store {uri}); Ctrl-C to stop\n"
          f"the same with MLflow alone: mlflow ui --backend-store-uri '{uri}'"
          + ("  (the project's store is mlruns/mlflow.db; a plain `mlflow ui` opens ./mlflow.db)"
             if uri.endswith("/mlruns/mlflow.db") else ""), flush=True)
    install_sigterm()  # SIGTERM, like Ctrl-C, also stops the server: no orphan left behind
    proc = subprocess.Popen(cmd, start_new_session=True)  # its own group: mlflow forks uvicorn
    try:
        return proc.wait()
    except KeyboardInterrupt:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait()
        return 0


def register(sub) -> None:
    p = sub.add_parser("ui", help="open the MLflow UI on the study runs")
    p.add_argument("--tracking-uri", default=None,
                   help="default: $MLFLOW_TRACKING_URI, else the SQLite store under ./mlruns")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=5000)
    p.set_defaults(func=_ui)
