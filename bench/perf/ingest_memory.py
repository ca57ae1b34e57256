"""Peak memory of importing a TIFF stack larger than 1 GB, against reading it whole.

    python -m bench.perf.ingest_memory [--gb 1.1] [--keep DIR]

Writes a uint16 TYX stack of 512×512 frames page by page (the script never holds it whole),
then measures, each in a fresh subprocess, the peak RSS of (a) ``mitogan data import`` and
(b) the baseline ``tifffile.imread`` of the whole stack. Target: (a) < 600 MB.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import tifffile

CHILD = """
import json, resource, sys
{body}
print(json.dumps({{"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}}))
"""
IMPORT = ("from preprocessing.ingest import import_dataset\n"
          "import_dataset([sys.argv[1]], 'big', sys.argv[2], progress=False)")
READ_ALL = "import tifffile\nx = tifffile.imread(sys.argv[1]); x.sum()"


def peak_mb(body: str, *args) -> float:
    out = subprocess.run([sys.executable, "-c", CHILD.format(body=body), *map(str, args)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])["peak_mb"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gb", type=float, default=1.1)
    args = ap.parse_args(argv)
    n = int(args.gb * 2**30 / (512 * 512 * 2))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.tif"
        rng = np.random.default_rng(0)
        page = rng.integers(100, 4000, (512, 512), dtype=np.uint16)
        with tifffile.TiffWriter(path, bigtiff=True) as tif:
            for t in range(n):
                tif.write(np.roll(page, t, axis=1), photometric="minisblack", contiguous=True)
        size_gb = path.stat().st_size / 2**30
        ours = peak_mb(IMPORT, path, Path(tmp) / "ws")
        base = peak_mb(READ_ALL, path)
    print(f"{n} frames of 512x512 uint16 = {size_gb:.2f} GB TIFF")
    print(f"peak RSS: mitogan data import {ours:.0f} MB (target < 600 MB); "
          f"baseline tifffile.imread whole stack {base:.0f} MB → ratio {base / ours:.1f}x less memory")


if __name__ == "__main__":
    main()
