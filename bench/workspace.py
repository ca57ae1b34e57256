"""Where imported data sets and caches live (default ``./mitogan-data``)."""
from __future__ import annotations

import os
import shutil
import socket
from contextlib import contextmanager
from pathlib import Path

from bench.errors import MitoError

ENV_VAR = "MITOGAN_WORKSPACE"
DEFAULT = "mitogan-data"


def workspace_dir(override: str | os.PathLike | None = None) -> Path:
    """Resolve the workspace: ``--workspace`` beats ``$MITOGAN_WORKSPACE`` beats ``./mitogan-data``."""
    path = Path(override or os.environ.get(ENV_VAR) or DEFAULT).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def datasets_dir(ws: Path) -> Path:
    return ws / "datasets"


def cache_dir(ws: Path, kind: str) -> Path:
    d = ws / "cache" / kind
    d.mkdir(parents=True, exist_ok=True)
    return d


def atomic_write(path: str | os.PathLike, write) -> Path:
    """Write a file via ``write(tmp_path)`` then rename it into place, so a crash or a bad input
    never leaves a half-written ``path``. The temporary name keeps the suffix (libraries that
    pick the format from it, e.g. ``np.save``, ``cv2.imwrite``, ``savefig``, still work)."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


# --- who writes: process identity, exclusive reservations, leftovers of killed processes -------
def start_time(pid: int) -> str | None:
    """A process's start time (clock ticks since boot, from /proc), or None when it is gone
    (or a zombie: killed, not yet reaped). Without /proc (not Linux) only existence is checked."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return None if fields[0] == "Z" else fields[19]
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return None
        try:
            os.kill(pid, 0)
            return "?"
        except ProcessLookupError:
            return None
        except PermissionError:
            return "?"


def owner_id() -> str:
    """``host:pid:start`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}:{start_time(os.getpid())}"


def alive(owner: str) -> bool | None:
    """True / False for an owner on this host; None on another host (only it can tell)."""
    host, pid, start = owner.rsplit(":", 2)
    if host != socket.gethostname():
        return None
    now = start_time(int(pid))
    return now is not None and (now == start or "?" in (now, start))


@contextmanager
def reserve(lock: Path, what: str):
    """Hold ``lock`` (created exclusively, holding our ``owner_id``) while the block runs.

    Another live process holding it: ``MitoError`` naming it. A lock left by a dead process on
    this host is taken over. Removed on exit, whatever happens in the block.
    """
    lock.parent.mkdir(parents=True, exist_ok=True)
    me = owner_id()
    for _ in range(3):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                holder = lock.read_text().strip()
            except FileNotFoundError:
                continue  # released meanwhile: try again
            if holder and alive(holder) is False:
                lock.unlink(missing_ok=True)  # its owner was killed: the reservation is void
                continue
            raise MitoError(what, f"in use by process {holder or '(starting)'} (lock {lock}); "
                            "wait for it to finish") from None
        with os.fdopen(fd, "w") as f:
            f.write(me)
        break
    else:
        raise MitoError(what, f"could not reserve {lock}")
    try:
        yield
    finally:
        lock.unlink(missing_ok=True)


def sweep_temp(root: Path, prefixes=(".tmp-", ".trash-")) -> list[Path]:
    """Remove ``<prefix>...-<pid>`` folders under ``root`` left by processes that no longer run
    (a SIGKILLed import, a full disk); returns what was removed."""
    gone = []
    if not root.is_dir():
        return gone
    for p in root.iterdir():
        pid = p.name.rsplit("-", 1)[-1]
        if p.name.startswith(tuple(prefixes)) and pid.isdigit() and start_time(int(pid)) is None:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink(missing_ok=True)
            gone.append(p)
    return gone
