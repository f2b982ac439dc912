"""What every benchmark's command line has: its options, and progress lines."""

from __future__ import annotations

import argparse


def argument_parser(
    module: str, doc: str | None, name: str, rounds: int | None = None
) -> argparse.ArgumentParser:
    """What every benchmark's command line has: `--name` (its results files' name) and, given
    `rounds`, `--rounds` (measured rounds, after one warm-up)."""
    parser = argparse.ArgumentParser(prog=f"python -m {module}", description=(doc or "").split("\n")[0])
    parser.add_argument("--name", default=name, help=f"results file name (default {name})")
    if rounds is not None:
        parser.add_argument(
            "--rounds",
            type=int,
            default=rounds,
            help=f"measured rounds, after one warm-up (default {rounds})",
        )
    return parser


def say(line: str) -> None:
    """A progress line, indented under the benchmark's own, at once."""
    print(f"  {line}", flush=True)
