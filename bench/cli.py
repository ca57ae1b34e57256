"""``mitogan``: one CLI; each sub-command lives in its own module under ``bench.commands``."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from bench import commands
from bench.errors import MitoError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mitogan", description=__doc__)
    parser.add_argument("--workspace", default=None,
                        help="data sets and caches (default $MITOGAN_WORKSPACE or ./mitogan-data)")
    sub = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"bench.commands.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        rc = args.func(args)
    except MitoError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
