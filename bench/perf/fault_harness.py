"""The fault suite's harness: a case registry and the helpers cases share (see :mod:`bench.perf.faults`)."""
from __future__ import annotations

import os
import resource
import socket
import subprocess
import sys
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
