"""``krakenwire bench``: run the benchmark suite in ``bench/`` of a source checkout.

The suite is not part of the installed package (it needs the ``bench`` extra and spawns the
simulator and one process per client), so this runs ``python -m bench`` from the checkout that
holds this file (editable install), or from the current directory.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the bench options to ``parser``."""
    parser.add_argument("--ci", action="store_true", help="short 10-id run and the CI gate")
    parser.add_argument("--quick", action="store_true", help="all scenarios, fewer samples")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per scenario")
    parser.add_argument(
        "--no-history", action="store_true", help="do not append to bench/history.jsonl"
    )


def _root() -> Path | None:
    for cand in (Path(__file__).resolve().parents[2], Path.cwd()):
        if (cand / "bench" / "__main__.py").is_file():
            return cand
    return None


def run(args: argparse.Namespace) -> int:
    """Run the suite; returns its exit code (1: the CI gate failed; 2: no bench/ found)."""
    root = _root()
    if root is None:
        print(
            "krakenwire bench: no bench/ directory here; run it from a krakenwire checkout",
            file=sys.stderr,
        )
        return 2
    cmd = [sys.executable, "-m", "bench"]
    if args.ci:
        cmd.append("--ci")
    if args.quick:
        cmd.append("--quick")
    if args.rounds is not None:
        cmd += ["--rounds", str(args.rounds)]
    if args.no_history:
        cmd.append("--no-history")
    return subprocess.run(cmd, cwd=root, check=False).returncode
