"""``python -m krakenwire.sim``: run the simulator on uvloop until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import sys

import uvloop

from ._cli import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m krakenwire.sim", description="Local Kraken Spot WebSocket v2 simulator"
    )
    add_arguments(parser)
    return uvloop.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
