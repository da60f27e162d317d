"""Keep file descriptors 0-2 taken, for the command-line entry points.

A process started with stdout closed (``krakenwire cancel ... >&-``) would hand fd 1 to the
first socket it opens; libuv (uvloop) asserts ``fd > STDERR_FILENO`` when it closes that socket
and aborts the process. Putting ``/dev/null`` on each closed standard fd first avoids that.
"""

from __future__ import annotations

import os

__all__ = ["hold_std_fds"]


def hold_std_fds() -> bool:
    """Open ``/dev/null`` on each of fds 0, 1 and 2 that is closed; True if stdout was."""
    stdout_closed = False
    for fd in (0, 1, 2):
        try:
            os.fstat(fd)
        except OSError:
            devnull = os.open(os.devnull, os.O_RDWR)  # the lowest free fd: this one
            if devnull != fd:  # pragma: no cover - a lower one was free, so it is open now
                os.close(devnull)
            stdout_closed = stdout_closed or fd == 1
    return stdout_closed
