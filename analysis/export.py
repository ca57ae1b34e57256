"""Stream a synthetic data set to disk: batches of frames → 16-bit files + a manifest.

Memory stays bounded: frames are generated one chunk of ``batch`` at a time, written and
discarded; only feature vectors (a subsample for Vendi, every kept frame with ``dedupe``) stay
in memory. Work goes to ``<out>.partial/`` and is renamed to ``<out>`` when complete. A chunk
is *done* once its record ``<out>.partial/.progress/chunk_XXXXXX.npz`` exists (written after
its files, atomically), so an interrupted export resumes at the first missing chunk when the
manifest-in-progress matches the request. Each chunk is drawn with a seed derived from
``(seed, chunk index)``, which makes the frames independent of where a run was interrupted.
"""
from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from tqdm import tqdm

from bench.errors import MitoError
from bench.workspace import atomic_write

FORMATS = ("png", "tiff")
# (chunk index, count) -> (count, 1, S, S) float32 in [0, 1]
FrameSource = Callable[[int, int], np.ndarray]
# (N, 1, S, S) float32 in [0, 1] -> (N, D) float32
FeatureFn = Callable[[np.ndarray], np.ndarray]


def chunk_seed(seed: int, chunk: int) -> int:
    """The sampling seed of chunk ``chunk`` of an export seeded with ``seed`` (stable, 31-bit)."""
    return int(np.random.SeedSequence([int(seed), int(chunk)]).generate_state(1)[0] >> 1)


def to_uint16(img: np.ndarray) -> np.ndarray:
    """(H, W) float in [0, 1] → uint16 over the full range (no precision lost vs. 8 bit)."""
    return np.round(np.clip(img, 0.0, 1.0) * 65535.0).astype(np.uint16)


def write_frame(path: Path, img: np.ndarray, fmt: str) -> None:
    """Write one (H, W) float [0, 1] frame as a 16-bit grayscale PNG or TIFF."""
    data = to_uint16(img)
    if fmt == "png":
        import cv2
        if not cv2.imwrite(str(path), data):
            raise MitoError(path, "could not write PNG")
    else:
        import tifffile
        tifffile.imwrite(path, data)


def read_frame(path: Path) -> np.ndarray:
    """Read a frame written by :func:`write_frame` back as (H, W) uint16."""
    if path.suffix == ".png":
        import cv2
        return cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    import tifffile
    return tifffile.imread(path)


def nn_threshold(train_feats: np.ndarray, heldout_feats: np.ndarray, quantile: float = 0.01) -> float:
    """Near-duplicate distance: the ``quantile`` of held-out→train nearest-neighbour distances.

    Two distinct real frames from different movies are closer than this only in a fraction
    ``quantile`` of cases, so generated frames closer than this to each other (or to a
    training frame) are treated as the same frame.
    """
    d = _min_dist(heldout_feats, train_feats)
    return float(np.quantile(d, quantile))


def _min_dist(a: np.ndarray, b: np.ndarray, block: int = 2048) -> np.ndarray:
    """For each row of ``a`` (N, D), the Euclidean distance to its nearest row of ``b`` (M, D)."""
    if len(b) == 0:
        return np.full(len(a), np.inf, dtype=np.float32)
    out = np.empty(len(a), dtype=np.float32)
    b2 = (b.astype(np.float64) ** 2).sum(1)
    for s in range(0, len(a), block):
        x = a[s:s + block].astype(np.float64)
        d2 = (x ** 2).sum(1)[:, None] + b2[None, :] - 2.0 * x @ b.T.astype(np.float64)
        out[s:s + block] = np.sqrt(np.maximum(d2.min(1), 0.0))
    return out


@dataclass
class ExportResult:
    """What an export produced; ``manifest`` is also written to ``out/manifest.json``."""
    out: Path
    count: int
    n_requested: int
    dropped_duplicates: int = 0
    dropped_train_copies: int = 0
    vendi: float | None = None
    vendi_n: int = 0
    resumed_chunks: int = 0                 # chunks found done from an interrupted run
    notes: list[str] = field(default_factory=list)
    manifest: dict = field(default_factory=dict)


def _atomic_json(path: Path, obj: dict) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(json.dumps(obj, indent=1)))


def _start(out: Path, identity: dict) -> Path:
    """Create or resume ``<out>.partial``; refuse a finished ``out`` or a different request."""
    if out.exists():
        raise MitoError(out, "already exists; choose another --out or delete it")
    partial = out.with_name(out.name + ".partial")
    info = partial / "manifest.partial.json"
    if partial.exists():
        old = json.loads(info.read_text()) if info.exists() else None
        if old != identity:
            raise MitoError(partial, "an interrupted export with different settings is here; "
                                     "delete it or repeat the original command to resume")
    (partial / ".progress").mkdir(parents=True, exist_ok=True)
    _atomic_json(info, identity)
    return partial


def export_frames(source: FrameSource, n: int, out: str | Path, *, fmt: str = "png",
                  seed: int = 0, batch: int = 256, features: FeatureFn | None = None,
                  dedupe_threshold: float | None = None, train_feats: np.ndarray | None = None,
                  vendi_subsample: int = 1000, identity: dict | None = None,
                  distinct=None, progress: bool = True) -> ExportResult:
    """Generate ``n`` frames chunk by chunk and write them as ``frame_XXXXXX.<fmt>``.

    Parameters
    ----------
    source : callable ``(chunk, count) -> (count, 1, S, S)`` float32 in [0, 1]
        Must be deterministic in ``chunk`` (use :func:`chunk_seed`).
    n, out, fmt, seed, batch
        Frame count, destination folder, ``png``/``tiff``, seed (recorded; the subsample for
        Vendi is drawn from it), frames per chunk.
    features : callable, optional
        Feature extractor for the distinct count and dedupe; without it neither is computed (noted).
    distinct : callable ``(feats (M, D)) -> float``, optional
        The count of effectively distinct frames (:class:`analysis.protocol.score.DistinctCount`
        of the run's real frames: the suite's one definition), measured on a seeded subsample of
        ``vendi_subsample`` generated frames, before dedupe (what the generator produces; dedupe
        counts are separate). Without it no count is reported (noted).
    dedupe_threshold : float, optional
        Drop frames whose features lie within this distance of an already kept frame or of a
        row of ``train_feats`` (N_train, D). ``None`` keeps every frame.
    identity : dict, optional
        Extra manifest fields (run id, data set hash, ...); part of the resume check.
    """
    if fmt not in FORMATS:
        raise MitoError("--format", f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    if n < 1 or batch < 1:
        raise MitoError("--n/--batch", "must be positive")
    if dedupe_threshold is not None and features is None:
        raise MitoError("--dedupe", "needs a feature extractor (mito-ssl) and none is available")
    out = Path(out)
    ident = {**(identity or {}), "seed": int(seed), "n_requested": int(n), "format": fmt,
             "batch": int(batch), "dtype": "uint16", "dedupe_threshold": dedupe_threshold,
             "vendi_subsample": int(vendi_subsample)}
    partial = _start(out, ident)
    rng = np.random.default_rng(seed)
    in_vendi = np.zeros(n, dtype=bool)
    in_vendi[rng.choice(n, size=min(vendi_subsample, n), replace=False)] = True
    kept_bank: list[np.ndarray] = []       # features of kept frames (dedupe bank), (k, D) each
    vendi_feats: list[np.ndarray] = []
    files: list[str] = []
    dropped = np.zeros(2, dtype=np.int64)  # [duplicates, train copies]
    n_chunks = -(-n // batch)
    resumed = len(list((partial / ".progress").glob("chunk_*[0-9].npz")))
    bar = tqdm(total=n, desc="generate", unit="frame", disable=not progress)
    for k in range(n_chunks):
        start, count = k * batch, min(batch, n - k * batch)
        rec = partial / ".progress" / f"chunk_{k:06d}.npz"
        if not rec.exists():
            _run_chunk(source, k, start, count, partial, rec, fmt, features, in_vendi,
                       dedupe_threshold, kept_bank, train_feats)
        r = np.load(rec)
        files += [f"frame_{i:06d}.{fmt}" for i in r["kept_idx"]]
        dropped += r["dropped"]
        if dedupe_threshold is not None:
            kept_bank.append(r["kept_feats"])
        vendi_feats.append(r["vendi_feats"])
        bar.update(count)
    bar.close()
    res = _finish(partial, out, ident, files, dropped, vendi_feats,
                  distinct if features is not None else None)
    res.resumed_chunks = resumed
    return res


def _run_chunk(source, k, start, count, partial, rec, fmt, features, in_vendi, thr,
               kept_bank, train_feats) -> None:
    x = np.asarray(source(k, count), dtype=np.float32)            # (count, 1, S, S)
    if x.shape[0] != count or x.ndim != 4 or x.shape[1] != 1:
        raise MitoError("generator", f"returned {x.shape}, expected ({count}, 1, S, S)")
    idx = np.arange(start, start + count)
    need = in_vendi[idx] | (thr is not None)
    feats = np.zeros((count, 0), np.float32)                      # (count, D), rows of `need`
    if features is not None and need.any():
        f = np.asarray(features(x[need]), dtype=np.float32)
        feats = np.zeros((count, f.shape[1]), np.float32)
        feats[need] = f
    keep = np.ones(count, dtype=bool)
    dropped = np.zeros(2, dtype=np.int64)
    if thr is not None:
        bank = np.concatenate([feats[:0], *kept_bank])
        copy = (_min_dist(feats, train_feats) <= thr if train_feats is not None
                else np.zeros(count, dtype=bool))
        dup = _min_dist(feats, bank) <= thr
        for i in range(count):                 # greedy within the chunk: first of a pair wins
            if copy[i]:
                keep[i], dropped[1] = False, dropped[1] + 1
            elif dup[i] or (i and (_min_dist(feats[i:i + 1], feats[:i][keep[:i]]) <= thr)[0]):
                keep[i], dropped[0] = False, dropped[0] + 1
    for i in np.flatnonzero(keep):
        write_frame(partial / f"frame_{idx[i]:06d}.{fmt}", x[i, 0], fmt)
    atomic_write(rec, lambda tmp: np.savez(tmp, kept_idx=idx[keep], dropped=dropped,
                                           kept_feats=feats[keep] if thr is not None else feats[:0],
                                           vendi_feats=feats[in_vendi[idx]]))  # before dedupe: what G produces


def _finish(partial: Path, out: Path, ident: dict, files: list[str], dropped: np.ndarray,
            vendi_feats: list[np.ndarray], distinct) -> ExportResult:
    res = ExportResult(out=out, count=len(files), n_requested=ident["n_requested"],
                       dropped_duplicates=int(dropped[0]), dropped_train_copies=int(dropped[1]))
    vf = [v for v in vendi_feats if len(v)]
    vf = np.concatenate(vf) if vf else np.zeros((0, 0), np.float32)
    if distinct is None:
        res.notes.append("effective distinct frames not measured: no feature extractor or no "
                         "real frames to define the space")
    elif len(vf) >= 2:
        res.vendi, res.vendi_n = float(distinct(vf)), len(vf)
    res.manifest = {**ident, "count": res.count, "files": files,
                    "dropped_duplicates": res.dropped_duplicates,
                    "dropped_train_copies": res.dropped_train_copies,
                    "vendi": res.vendi, "vendi_n": res.vendi_n, "notes": res.notes}
    _atomic_json(partial / "manifest.json", res.manifest)
    shutil.rmtree(partial / ".progress")
    (partial / "manifest.partial.json").unlink()
    os.replace(partial, out)
    return res
