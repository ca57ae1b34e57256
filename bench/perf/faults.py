"""Fault injection: bad inputs, bad settings, killed processes, races, unwritable or full disks
and planted files, each replayed against the real code; prints ``tried / held`` by category.

    python -m bench.perf.faults [--slow] [-k SUBSTRING]

A case *holds* when the fault is refused or survived as the Standards demand: one line naming
the file or option, exit 2 at the CLI, nothing half-written, nothing left RUNNING, no silent
wrong data. ``tests/test_faults.py`` runs the same cases (all but ``slow`` ones) under pytest.
Read-only and full disks are simulated in ways that stop root too: a file where a folder is
expected, and ``RLIMIT_FSIZE`` in a subprocess (Python ignores SIGXFSZ, so writes fail EFBIG).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from bench.perf import fault_cases_data, fault_cases_runs  # noqa: F401 - importing registers the cases
from bench.perf.fault_harness import CASES, DEAD_OWNER, Case  # noqa: F401 - DEAD_OWNER for the tests


def run(cases: list[Case]) -> dict:
    """Run ``cases``; returns ``{category: [tried, held, [failed names]]}`` and prints the table."""
    table = defaultdict(lambda: [0, 0, []])
    for c in cases:
        with tempfile.TemporaryDirectory(prefix=f"fault-{c.name}-") as tmp:
            t0 = time.perf_counter()
            try:
                c.fn(Path(tmp))
                ok, why = True, ""
            except Exception as err:  # noqa: BLE001 - a case not held, whatever the way
                ok, why = False, f"{type(err).__name__}: {str(err)[:200]}"
            row = table[c.category]
            row[0] += 1
            row[1] += ok
            if not ok:
                row[2].append(c.name)
            print(f"{'held' if ok else 'NOT HELD':8s} {c.category:13s} {c.name:42s} "
                  f"{time.perf_counter() - t0:6.1f} s {why}", flush=True)
    print(f"\n{'category':14s} tried / held")
    for cat, (tried, held, _) in table.items():
        print(f"{cat:14s} {tried:5d} / {held}")
    total = [sum(r[0] for r in table.values()), sum(r[1] for r in table.values())]
    print(f"{'all':14s} {total[0]:5d} / {total[1]}")
    return dict(table)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--slow", action="store_true", help="also the slow cases (mitogan ui)")
    ap.add_argument("-k", default="", help="only cases whose name contains this")
    a = ap.parse_args(argv)
    table = run([c for c in CASES if (a.slow or not c.slow) and a.k in c.name])
    return 0 if all(r[0] == r[1] for r in table.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
