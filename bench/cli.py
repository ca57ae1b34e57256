"""``mitogan``: one CLI; each sub-command lives in its own module under ``bench.commands``.

Building the parser imports no torch, OpenCV or NumPy (command modules import what they need
inside their handlers; names for choices come from ``bench.choices``), so ``--help`` is fast."""
from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from bench import commands
from bench.errors import MitoError, environment_error


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mitogan", description=__doc__)
    parser.add_argument("--workspace", default=None,
                        help="data sets and caches (default $MITOGAN_WORKSPACE or ./mitogan-data)")
    parser.add_argument("--version", action=_Version, nargs=0, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        importlib.import_module(f"bench.commands.{info.name}").register(sub)
    _describe(sub)
    return parser


class _Version(argparse.Action):
    """``--version``, looked up only when asked (``importlib.metadata`` costs ~0.1 s to import)."""

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version
        try:
            text = version("mitogan")
        except PackageNotFoundError:  # run from a source tree that was never installed
            text = "unknown (not installed)"
        print(f"mitogan {text}")
        parser.exit()


def _describe(sub: argparse._SubParsersAction) -> None:
    """Give every sub-command (nested ones too) its one-line help as ``--help`` description."""
    for action in sub._choices_actions:
        p = sub.choices[action.dest]
        p.description = p.description or action.help
        for nested in p._subparsers._group_actions if p._subparsers else ():
            _describe(nested)


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
    except Exception as err:  # a read-only or full disk, a database that refuses: one line too
        line = environment_error(err)
        if line is None:
            raise
        print(f"error: {line}", file=sys.stderr)
        return 2
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
