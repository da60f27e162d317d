"""``krakenwire bench``: run the benchmark suite in ``bench/`` of a source checkout.

The suite is not part of the wheel: it compares krakenwire with other clients
(python-kraken-sdk, websockets, aiohttp: the ``bench`` extra), keeps its baseline and history
in the repository, and writes results next to them. This runs ``python -m bench`` from the
checkout that holds this file (editable install) or from the current directory; from an
installed wheel anywhere else it says how to get a checkout.
"""

from __future__ import annotations

import argparse
import importlib.util
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
    parser.add_argument(
        "--only",
        default=None,
        metavar="SECTIONS",
        help="comma-separated sections to run: reflector, cli, simulator, standby "
        "(results only; no history, latest.md or README update)",
    )


def _root() -> Path | None:
    for cand in (Path(__file__).resolve().parents[3], Path.cwd()):
        if (cand / "bench" / "__main__.py").is_file():
            return cand
    return None


# The modules of the ``bench`` extra the suite imports (distribution -> module).
_BENCH_MODULES = {
    "hdrhistogram": "hdrh",
    "matplotlib": "matplotlib",
    "websockets": "websockets",
    "python-kraken-sdk": "kraken",
    "aiohttp": "aiohttp",
}


def _missing() -> list[str]:
    return [dist for dist, mod in _BENCH_MODULES.items() if importlib.util.find_spec(mod) is None]


def run(args: argparse.Namespace) -> int:
    """Run the suite; returns its exit code (1: the CI gate failed; 2: no bench/ found, or the
    bench extra is not installed)."""
    root = _root()
    if root is None:
        print(
            "krakenwire bench: the bench suite is not part of the installed package; it runs "
            "from a source checkout (or an unpacked sdist), which has bench/:\n"
            "  git clone https://github.com/krakenwire/krakenwire && cd krakenwire && make bench\n"
            "or, in a checkout with krakenwire installed: pip install -e '.[bench]' && "
            "krakenwire bench\n"
            "`krakenwire demo` runs here: simulator, orders placed and cancelled, a latency table.",
            file=sys.stderr,
        )
        return 2
    missing = _missing()
    if missing:
        print(
            f"krakenwire bench: the bench extra is not installed (missing: {', '.join(missing)}); "
            f"in {root}: make bench, or pip install -e '.[bench]' && krakenwire bench",
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
    if args.only:
        cmd += ["--only", args.only]
    return subprocess.run(cmd, cwd=root, check=False).returncode
