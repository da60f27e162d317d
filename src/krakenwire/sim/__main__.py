"""``python -m krakenwire.sim``: run the simulator on uvloop (asyncio where uvloop is not
installed, e.g. Windows) until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import sys

from .._stdfds import hold_std_fds
from ._cli import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    hold_std_fds()  # started with stdout closed: no socket may get fd 0-2 (libuv aborts)
    parser = argparse.ArgumentParser(
        prog="python -m krakenwire.sim",
        description="Local Kraken Spot WebSocket v2 simulator",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        import uvloop
    except ImportError:  # no uvloop build for this platform (Windows): plain asyncio
        return asyncio.run(run(args))
    return uvloop.run(run(args))


if __name__ == "__main__":
    sys.exit(main())
