"""Where imported data sets and caches live (default ``./mitogan-data``)."""
from __future__ import annotations

import os
from pathlib import Path

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
