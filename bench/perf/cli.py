"""CLI start: ``mitogan --help`` and every sub-command's ``--help`` as whole processes, beside
``python -c pass`` (the interpreter's own start) measured in the same run. Target: each < 1 s.

    python -m bench.perf.cli [--rounds 5]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def mitogan_exe() -> list[str]:
    """The installed ``mitogan`` script beside this interpreter, else ``python -m bench.cli``."""
    exe = Path(sys.executable).parent / "mitogan"
    if exe.is_file():
        return [str(exe)]
    found = shutil.which("mitogan")
    return [found] if found else [sys.executable, "-m", "bench.cli"]


def wall(cmd: list[str], rounds: int) -> float:
    """Median wall time (s) of running ``cmd`` to completion ``rounds`` times."""
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def commands() -> list[list[str]]:
    """Every sub-command path, nested ones included (``["data", "import"]``)."""
    from bench.cli import build_parser
    out = []

    def walk(parser, path):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, p in action.choices.items():
                    out.append(path + [name])
                    walk(p, path + [name])
    walk(build_parser(), [])
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    args = ap.parse_args(argv)
    exe = mitogan_exe()
    base = wall([sys.executable, "-c", "pass"], args.rounds)
    top = wall(exe + ["--help"], args.rounds)
    print(f"python -c pass      {base:6.3f} s (median of {args.rounds})")
    print(f"mitogan --help      {top:6.3f} s  ({top / base:.0f}x python -c pass; target < 1 s: "
          f"{'ok' if top < 1 else 'MISSED'})")
    slowest = ("", 0.0)
    for path in commands():
        t = wall(exe + path + ["--help"], max(1, args.rounds // 2))
        slowest = max(slowest, (" ".join(path), t), key=lambda x: x[1])
        print(f"  mitogan {' '.join(path):18s} --help {t:6.3f} s")
    print(f"slowest sub-command --help: mitogan {slowest[0]} {slowest[1]:.3f} s (target < 1 s: "
          f"{'ok' if slowest[1] < 1 else 'MISSED'})")


if __name__ == "__main__":
    main()
