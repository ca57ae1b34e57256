"""``mitogan dashboard``: optuna-dashboard on a study's storage, bound to 127.0.0.1."""
from __future__ import annotations


def _dashboard(args) -> int:
    from optuna_dashboard import run_server

    from bench.study.storage import default_storage_url, open_storage
    url = args.storage
    if url is None and args.config:
        from bench.study.config import load_config
        url = load_config(args.config).storage
    url = url or default_storage_url()
    storage = open_storage(url)
    print(f"optuna-dashboard on http://{args.host}:{args.port} (storage {url}); Ctrl-C to stop",
          flush=True)
    try:
        run_server(storage, host=args.host, port=args.port)
    except KeyboardInterrupt:
        pass
    return 0


def register(sub) -> None:
    p = sub.add_parser("dashboard", help="optuna-dashboard on the study storage")
    p.add_argument("--config", default=None, help="take the storage from this study file")
    p.add_argument("--storage", default=None, help="Optuna storage URL (default: journal under ./mlruns)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8080)
    p.set_defaults(func=_dashboard)
