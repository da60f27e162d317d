"""Argument types of `krakenwire.cli`: every value is checked by argparse, before anything
connects, so a bad one exits 2 with a one-line message and a usage line (never a traceback)."""

from __future__ import annotations

import argparse
import math
from urllib.parse import urlsplit

from ..errors import ValidationError

__all__ = ["positive_int", "rest_url", "seconds", "userref", "ws_url"]


def seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of seconds: {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds > 0, not {text!r}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, not {text!r}")
    return value


def checked_url(text: str, schemes: tuple[str, ...]) -> str:
    try:
        parts = urlsplit(text)
        port = parts.port  # raises ValueError when out of range or not a number
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"malformed URL {text!r}: {exc}") from None
    if parts.scheme not in schemes or not parts.hostname:
        want = " or ".join(f"{s}://" for s in schemes)
        raise argparse.ArgumentTypeError(f"not a {want} URL with a host: {text!r}")
    if port == 0:
        raise argparse.ArgumentTypeError(f"port 0 is not a port to connect to: {text!r}")
    return text


def ws_url(text: str) -> str:
    url = checked_url(text, ("ws", "wss"))
    from .._config import check_url

    try:
        check_url(url)  # ws:// only to loopback: a token never travels unencrypted
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return url


def rest_url(text: str) -> str:
    url = checked_url(text, ("https", "http"))
    from .._auth import check_rest_url

    try:
        check_rest_url(url)  # http:// only to loopback: a signed request never travels plain
    except ValidationError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return url


def userref(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"order_userref must be an integer: {text!r}") from None
