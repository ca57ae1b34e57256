"""``generate_run``: a synthetic data set from a tracked run, streamed to disk (resumable), with
the suite's count of effectively distinct frames for the generated set and, at the same N, for
the run's real frames (:class:`analysis.protocol.score.DistinctCount`)."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from analysis.export import chunk_seed, export_frames, nn_threshold
from analysis.protocol.score import DistinctCount
from bench.errors import MitoError
from bench.runs import load_generator, run_split
from models.sampling import sample

# logged to the run by ``generate_run(log=True)`` (the report's verdict reads them)
SYNTH_FRAMES, SYNTH_DISTINCT, REAL_DISTINCT, DISTINCT_N = (
    "synthetic_frames", "synthetic_distinct", "real_distinct", "distinct_n")


def _extractor():
    """The ``mito-ssl`` feature extractor, or ``(None, reason)`` when it cannot be built."""
    from analysis.extractors import get_extractor
    try:
        return get_extractor("mito-ssl"), ""
    except Exception as err:  # noqa: BLE001 - a missing/broken extractor only skips the count
        return None, f"mito-ssl unavailable ({err})"


def generate_run(run_id: str, out, *, n: int, workspace=None, tracking_uri: str | None = None,
                 fmt: str = "png", seed: int = 0, batch: int = 256, dedupe: bool = False,
                 dedupe_quantile: float = 0.01, vendi_n: int = 1000, log: bool = False,
                 progress: bool = True) -> dict:
    """Write ``n`` frames of run ``run_id`` to ``out`` (:func:`analysis.export.export_frames`).

    Returns ``{"result": ExportResult, "real": (count, N) or None, "threshold", "notes", "cfg"}``;
    ``dedupe`` drops near-duplicates and near-copies of training frames (threshold: the
    ``dedupe_quantile`` of held-out→train nearest distances). ``log`` writes the counts to the
    run (``synthetic_frames``, ``synthetic_distinct``, ``real_distinct``, ``distinct_n``).
    """
    try:
        G, cfg = load_generator(run_id, tracking_uri=tracking_uri)
    except MitoError:
        raise
    except Exception as err:  # noqa: BLE001 - an unknown run id is bad input, not a crash
        raise MitoError(f"--run {run_id}", f"cannot load its generator ({err})")
    ext, why = _extractor()
    features = ext.features if ext is not None else None
    notes = [] if ext is not None else [f"no distinct count / dedupe features: {why}"]
    train_feats = thr = data_hash = real_count = distinct = None
    try:
        from preprocessing.dataset import Dataset
        ds = Dataset.load(cfg.dataset, workspace)
        train, held = run_split(cfg, workspace, dataset=ds, progress=False)
        train_x, held_x, data_hash = train.x, held.x, ds.hash
    except Exception as err:  # noqa: BLE001 - without the real frames only the extras are lost
        train_x = held_x = None
        notes.append(f"real frames unavailable ({err}); no real reference")
    if dedupe:
        if features is None or train_x is None or held_x is None or not len(held_x):
            raise MitoError("--dedupe", "needs the mito-ssl extractor and the run's real "
                                        "train/held-out frames; " + "; ".join(notes))
        train_feats = features(train_x)
        thr = nn_threshold(train_feats, features(held_x), dedupe_quantile)
    n_count = min(vendi_n, n)
    if features is not None and train_x is not None:
        # one space and definition (the protocol's): standardised by all real frames of the run
        real = np.concatenate([train_x, held_x]) if held_x is not None and len(held_x) else train_x
        real_feats = features(real)
        distinct = DistinctCount(real_feats).count
        n_count = min(n_count, len(real))  # real and generated counted at the same N
        sub = np.random.default_rng(seed).permutation(len(real))[:n_count]
        real_count = (distinct(real_feats[sub]), n_count)

    def source(k: int, count: int) -> np.ndarray:
        # a fixed inner batch bounds activation memory whatever --batch is
        return sample(G, count, seed=chunk_seed(seed, k), batch=64)  # (count, 1, S, S)

    res = export_frames(source, n, Path(out), fmt=fmt, seed=seed, batch=batch, features=features,
                        dedupe_threshold=thr, train_feats=train_feats, vendi_subsample=n_count,
                        distinct=distinct, progress=progress,
                        identity={"run_id": run_id, "dataset_hash": data_hash,
                                  "extractor": getattr(ext, "name", None), "size": int(cfg.size)})
    if log and res.vendi is not None and real_count is not None:
        from bench.tracking import log_to_run
        import shutil
        log_to_run(run_id, tracking_uri, {SYNTH_FRAMES: float(res.count), SYNTH_DISTINCT: res.vendi,
                                          REAL_DISTINCT: real_count[0], DISTINCT_N: float(res.vendi_n)},
                   "generate", lambda d: shutil.copy(Path(res.out) / "manifest.json", d))
    return {"result": res, "real": real_count, "threshold": thr, "notes": notes, "cfg": cfg,
            "extractor": getattr(ext, "name", "?"), "n_real": None if train_x is None else len(train_x)}
