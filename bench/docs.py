"""``python -m bench.docs``: run the demo study and rewrite the README's screenshots from it.

    python -m bench.docs [--dir DIR] [--skip-study] [--chromium /usr/bin/chromium]

1. In ``DIR`` (default: a fresh temporary folder) ``mitogan study --config studies/demo.yaml``,
   exactly the README's main job (``--skip-study`` reuses a study already run in ``DIR``).
2. ``docs/report-overview.png``: its ``report.html`` in headless Chromium (no network).
3. ``docs/mlflow-compare.png``: the MLflow UI served on 127.0.0.1 from the study's store, its
   run-comparison page of the study's trials, in headless Chromium.

Each PNG is written to a temporary name and renamed, so a failed run leaves the old one.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from urllib.parse import quote
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
FLAGS = ["--no-sandbox", "--disable-gpu", "--headless", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars"]


def screenshot(chromium: str, url: str, out: Path, size: str, wait_ms: int) -> None:
    """``url`` rendered by headless Chromium into ``out`` (PNG), after ``wait_ms`` of page time."""
    tmp = out.with_name(out.stem + ".tmp.png")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", f"--screenshot={tmp}",
                        f"--window-size={size}", f"--virtual-time-budget={wait_ms}", url],
                       check=True, capture_output=True, timeout=180)
    if not tmp.is_file() or tmp.read_bytes()[:8] != b"\x89PNG\r\n\x1a\n":
        raise SystemExit(f"error: {url}: Chromium wrote no screenshot")
    os.replace(tmp, out)
    print(f"wrote {out.relative_to(REPO)} ({out.stat().st_size // 1024} KB) from {url}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, seconds: float = 90) -> None:
    """Until the local MLflow server answers ``/health`` on 127.0.0.1 (never another host)."""
    import http.client
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            conn.close()
        time.sleep(0.5)
    raise SystemExit(f"error: the MLflow UI did not answer on 127.0.0.1:{port} within {seconds:.0f} s")


def _study_runs(uri: str) -> tuple[str, list[str]]:
    """The demo study's experiment id and its trials' run ids (child runs, not the parent)."""
    from mlflow.tracking import MlflowClient
    c = MlflowClient(uri)
    exp = c.get_experiment_by_name("study-demo")
    runs = c.search_runs([exp.experiment_id], "tags.`mitogan.study` = 'demo'")
    return exp.experiment_id, [r.info.run_id for r in runs if "mitogan.trial" in r.data.tags]


def mlflow_compare(chromium: str, uri: str, out: Path) -> None:
    exp, runs = _study_runs(uri)
    port = _free_port()
    env = {**os.environ, "MLFLOW_BACKEND_STORE_URI": uri}
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "ui", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        _wait(port)
        query = quote(json.dumps(runs)) + "&experiments=" + quote(json.dumps([exp]))
        screenshot(chromium, f"{base}/#/compare-runs?runs={query}", out, "1700,1100", 20000)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dir", default=None, help="where the demo runs (default: a temporary folder)")
    ap.add_argument("--skip-study", action="store_true", help="reuse the study already run in --dir")
    ap.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = ap.parse_args(argv)
    if not Path(args.chromium).is_file():
        print(f"error: --chromium {args.chromium}: not found (install it: source .ci/chromium.sh)",
              file=sys.stderr)
        return 2
    if args.skip_study and not args.dir:
        print("error: --skip-study needs --dir (where the study ran)", file=sys.stderr)
        return 2
    work = Path(args.dir or tempfile.mkdtemp(prefix="mitogan-docs-")).resolve()
    work.mkdir(parents=True, exist_ok=True)
    if not args.skip_study:
        subprocess.run([sys.executable, "-m", "bench.cli", "study", "--config",
                        str(REPO / "studies" / "demo.yaml")], cwd=work, check=True)
    report = work / "mitogan-data" / "studies" / "demo" / "report.html"
    if not report.is_file():
        print(f"error: {report}: no report (did the study finish?)", file=sys.stderr)
        return 2
    screenshot(args.chromium, report.as_uri(), REPO / "docs" / "report-overview.png", "1280,1700", 5000)
    mlflow_compare(args.chromium, f"sqlite:///{work / 'mlruns' / 'mlflow.db'}",
                   REPO / "docs" / "mlflow-compare.png")
    return 0


if __name__ == "__main__":
    sys.exit(main())
