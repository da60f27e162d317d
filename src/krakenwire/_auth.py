"""Kraken REST authentication: API credentials, nonces, ``API-Sign`` and WebSocket tokens.

Private WebSocket v2 requests carry a token that comes from the REST endpoint ``POST
/0/private/GetWebSocketsToken`` (docs.kraken.com/api/docs/guides/spot-ws-auth). That request is
signed with the account's API secret as described in docs.kraken.com/api/docs/guides/spot-rest-auth:
``HMAC-SHA512(base64decode(secret), path + SHA256(nonce + body))``. This module holds the
credentials (never printing the secret), a strictly increasing nonce source, the signing function
and [`TokenFetcher`][krakenwire.TokenFetcher], which fetches a fresh token per call and shares one
in-flight request between concurrent callers.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import ipaddress
import os
import threading
import time
from collections.abc import Callable
from ssl import SSLContext
from typing import NoReturn
from urllib.parse import urlsplit

import msgspec

from .errors import AuthError, ConnectError, ValidationError

__all__ = [
    "TOKEN_PATH",
    "CredentialsError",
    "Credentials",
    "NonceSource",
    "Token",
    "TokenFetcher",
    "check_rest_url",
    "is_loopback_host",
    "sign",
]

TOKEN_PATH = "/0/private/GetWebSocketsToken"
_REDACTED = "<redacted>"


def _user_agent() -> str:
    from . import __version__  # the package's own (importlib.metadata is slow to import)

    return f"krakenwire/{__version__}"


class CredentialsError(AuthError, ValueError):
    """The API key or secret given to [`Credentials`][krakenwire.Credentials] is unusable (empty,
    not base64, unset).

    Raised before anything is sent. The message names the value at fault (``"api secret"``, an
    environment variable name) but never contains the value itself. Fix the configuration.
    """


def _decode_secret(secret: str, what: str = "api secret") -> bytes:
    if not isinstance(secret, str):
        raise CredentialsError(f"{what} must be a str (base64 text)")
    try:
        raw = base64.b64decode(secret.strip(), validate=True)
    except (binascii.Error, ValueError):
        # ``from None``: the original exception text may quote the offending input.
        raise CredentialsError(f"{what} is not valid base64") from None
    if not raw:
        raise CredentialsError(f"{what} is empty")
    return raw


def _check_key(key: str, what: str = "api key") -> str:
    if not isinstance(key, str) or not key.strip():
        raise CredentialsError(f"{what} is empty")
    key = key.strip()
    if not (key.isascii() and key.isprintable()):
        raise CredentialsError(f"{what} contains non-ASCII or control characters")
    return key


class NonceSource:
    """Strictly increasing nonces for one API key: nanoseconds since the epoch, bumped if needed.

    Kraken requires every nonce of a key to be greater than the last one it saw
    (``EAPI:Invalid nonce`` otherwise). If the clock does not advance (two calls in the same
    nanosecond, or the clock stepping backwards) the nonce becomes ``last + 1``. A lock makes it
    safe from several threads as well as several tasks.

    Args:
        clock: returns an integer timestamp; ``time.time_ns`` unless testing.
    """

    __slots__ = ("_clock", "_last", "_lock")

    def __init__(self, clock: Callable[[], int] = time.time_ns) -> None:
        self._clock = clock
        self._last = 0
        self._lock = threading.Lock()

    @property
    def last(self) -> int:
        """The last nonce handed out (0 before the first)."""
        return self._last

    def next(self) -> int:
        """Return a nonce greater than every nonce this source returned before."""
        with self._lock:
            nonce = self._clock()
            if nonce <= self._last:
                nonce = self._last + 1
            self._last = nonce
            return nonce

    def __repr__(self) -> str:
        return f"NonceSource(last={self._last})"


def sign(secret_b64_or_bytes: str | bytes, url_path: str, nonce: int | str, postdata: str) -> str:
    """Compute Kraken's ``API-Sign`` header value.

    Args:
        secret_b64_or_bytes: the API secret, either as Kraken shows it (base64 ``str``) or as the
            already decoded raw key (``bytes``). Base64 text passed as ``bytes`` is NOT decoded.
        url_path: the request path, e.g. ``"/0/private/GetWebSocketsToken"``.
        nonce: the nonce, exactly as it appears in ``postdata``.
        postdata: the exact urlencoded body that is sent, including ``nonce=...``.

    Returns:
        The base64 HMAC-SHA512 signature (88 characters).

    Raises:
        CredentialsError: the secret is not valid base64.
    """
    if isinstance(secret_b64_or_bytes, bytes | bytearray | memoryview):
        key = bytes(secret_b64_or_bytes)
    else:
        key = _decode_secret(secret_b64_or_bytes)
    sha = hashlib.sha256(str(nonce).encode() + postdata.encode()).digest()
    mac = hmac.new(key, url_path.encode() + sha, hashlib.sha512).digest()
    return base64.b64encode(mac).decode("ascii")


class Credentials:
    """A Kraken API key and its secret. ``repr``/``str`` show at most the key's first 4 characters.

    Surrounding whitespace (a trailing newline from a file or env var) is stripped from both.

    Args:
        key: the public API key (sent as the ``API-Key`` header).
        secret: the private key, base64 as Kraken shows it.

    Raises:
        CredentialsError: (a ``ValueError``) the key is empty or not printable ASCII, or the
            secret is empty or not valid base64. The message never contains either value.
    """

    __slots__ = ("_key", "_secret", "nonces")

    def __init__(self, key: str, secret: str) -> None:
        self._key = _check_key(key)
        self._secret = _decode_secret(secret)
        #: The nonce source for this key; share the Credentials object, not copies, so that all
        #: requests signed with this key draw from one increasing sequence.
        self.nonces = NonceSource()

    @classmethod
    def from_env(
        cls, key_var: str = "KRAKEN_API_KEY", secret_var: str = "KRAKEN_API_SECRET"
    ) -> Credentials:
        """Read the key and secret from environment variables.

        Raises:
            CredentialsError: a variable is unset or empty, or its value is invalid. The message
                names the variable, never its value.
        """
        key = os.environ.get(key_var)
        secret = os.environ.get(secret_var)
        if key is None:
            raise CredentialsError(f"environment variable {key_var} is not set")
        if secret is None:
            raise CredentialsError(f"environment variable {secret_var} is not set")
        _check_key(key, f"environment variable {key_var}")
        _decode_secret(secret, f"environment variable {secret_var}")
        return cls(key, secret)

    @property
    def key(self) -> str:
        """The public API key."""
        return self._key

    def sign(self, url_path: str, nonce: int | str, postdata: str) -> str:
        """``API-Sign`` for this secret; see [`sign`][krakenwire.sign]."""
        return sign(self._secret, url_path, nonce, postdata)

    def __repr__(self) -> str:
        return f"Credentials(key={self._key[:4]!r}…)"

    __str__ = __repr__

    def __reduce__(self) -> NoReturn:
        # Pickling would write the secret somewhere; refuse rather than leak it.
        raise TypeError("Credentials cannot be pickled")


class Token:
    """A WebSocket token from ``GetWebSocketsToken``. ``repr`` hides ``value``.

    Attributes:
        value: the opaque token string to put in ``params.token``.
        expires: seconds Kraken gave for first use (900): use it to subscribe within this time.
        fetched_at: ``time.monotonic()`` just before the request was sent (so ``expires_at`` errs
            on the early side).
    """

    __slots__ = ("value", "expires", "fetched_at")

    def __init__(self, value: str, expires: int, fetched_at: float) -> None:
        self.value = value
        self.expires = expires
        self.fetched_at = fetched_at

    @property
    def expires_at(self) -> float:
        """The ``time.monotonic()`` after which the token is no longer accepted for first use."""
        return self.fetched_at + self.expires

    def __repr__(self) -> str:
        return f"Token(value={_REDACTED}, expires={self.expires}, fetched_at={self.fetched_at:.3f})"

    __str__ = __repr__


def is_loopback_host(host: str) -> bool:
    """True for ``localhost``, 127.0.0.0/8 and ``::1`` (brackets allowed)."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_rest_url(rest_url: object) -> str:
    """``rest_url`` as ``scheme://netloc``; a `ValidationError` (a ``ValueError``)
    naming what is wrong otherwise."""
    if type(rest_url) is not str:
        raise ValidationError(
            f"rest_url must be a str, got {type(rest_url).__name__}", field="rest_url"
        )
    shown = rest_url if "@" not in rest_url else "<redacted: has user info>"
    try:
        parts = urlsplit(rest_url)
        host = parts.hostname or ""
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError as exc:
        raise ValidationError(
            f"rest_url {shown!r} is not a valid URL: {exc}", field="rest_url", value=None
        ) from None
    why = ""
    if parts.scheme not in ("https", "http") or not host:
        why = "must be an https:// URL"
    elif parts.scheme == "http" and not is_loopback_host(host):
        why = "plain http:// is only allowed to a loopback host; use https://"
    elif parts.username is not None or parts.password is not None:
        why = "must not contain user info"
    elif parts.path not in ("", "/") or parts.query or parts.fragment:
        # The signature covers the path Kraken sees; a prefix would make it wrong.
        why = "must not have a path, query or fragment"
    if why:
        raise ValidationError(f"rest_url {shown!r}: {why}", field="rest_url", value=None)
    return f"{parts.scheme}://{parts.netloc}"


class _Result(msgspec.Struct):
    token: str
    expires: int = 900


class _Reply(msgspec.Struct):
    error: list[str] = msgspec.field(default_factory=list)
    # Raw (decoded only on success) cannot sit in a union with None; empty means absent.
    result: msgspec.Raw = msgspec.Raw(b"")


_REPLY = msgspec.json.Decoder(_Reply)
_RESULT = msgspec.json.Decoder(_Result)


class TokenFetcher:
    """Fetch WebSocket tokens from Kraken's REST API: one fresh token per `fetch`.

    Concurrent ``fetch()`` calls share one in-flight HTTP request; a call made after that request
    finished sends a new one (Kraken: fetch a fresh token for every new connection). Each fetch
    opens and closes its own HTTP session, so there is nothing to close.

    Args:
        credentials: the API key and secret (the key needs the "WebSocket interface" permission).
        rest_url: ``https://api.kraken.com`` unless testing; ``http://`` only to a loopback host.
        timeout: seconds for the whole request.
        ssl: an SSL context for ``https`` (e.g. a custom CA); ``None`` = default verification.

    Raises:
        ValidationError: (a ``ValueError``) ``rest_url`` is not https (or http to loopback),
            or has a path.
    """

    def __init__(
        self,
        credentials: Credentials,
        rest_url: str = "https://api.kraken.com",
        *,
        timeout: float = 10.0,
        ssl: SSLContext | None = None,
    ) -> None:
        self._credentials = credentials
        self._base = check_rest_url(rest_url)
        self._url = self._base + TOKEN_PATH
        self._timeout = timeout
        self._ssl: SSLContext | bool = ssl if ssl is not None else True
        self._inflight: asyncio.Task[Token] | None = None

    @property
    def url(self) -> str:
        """The full token endpoint URL."""
        return self._url

    def __repr__(self) -> str:
        return f"TokenFetcher({self._credentials!r}, {self._base!r})"

    async def fetch(self) -> Token:
        """Return a new token, joining the request already in flight if there is one.

        Cancelling one caller does not cancel the request for the others.

        Raises:
            AuthError: Kraken refused (``.error`` is its exact string, e.g. ``EAPI:Invalid key``).
            ConnectError: the request failed (refused, timed out, TLS) or the reply was unusable.
        """
        loop = asyncio.get_running_loop()
        task = self._inflight
        if task is None or task.done() or task.get_loop() is not loop:
            task = loop.create_task(self._fetch_once())
            task.add_done_callback(self._finished)
            self._inflight = task
        return await asyncio.shield(task)

    def _finished(self, task: asyncio.Task[Token]) -> None:
        if self._inflight is task:
            self._inflight = None
        # Mark the outcome as retrieved: if every caller was cancelled, nobody else will.
        if not task.cancelled():
            task.exception()

    async def _fetch_once(self) -> Token:
        creds = self._credentials
        nonce = creds.nonces.next()
        body = f"nonce={nonce}"
        headers = {
            "API-Key": creds.key,
            "API-Sign": creds.sign(TOKEN_PATH, nonce, body),
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": _user_agent(),
        }
        fetched_at = time.monotonic()
        import aiohttp  # on demand: ~100 ms of import that a token-only caller never needs

        try:
            # trust_env=False (the default): never route the signed request through a proxy
            # picked up from the environment.
            async with (
                aiohttp.ClientSession(
                    connector=aiohttp.TCPConnector(ssl=self._ssl),
                    timeout=aiohttp.ClientTimeout(total=self._timeout),
                ) as session,
                session.post(self._url, data=body.encode("ascii"), headers=headers) as resp,
            ):
                status = resp.status
                content_type = resp.content_type
                raw = await resp.read()
        except TimeoutError:
            raise ConnectError(
                f"token request to {self._url} timed out after {self._timeout:g}s"
            ) from None
        except aiohttp.ClientError as exc:
            raise ConnectError(
                f"token request to {self._url} failed: {type(exc).__name__}: {exc}"
            ) from None
        return self._parse(raw, status, content_type, fetched_at)

    def _parse(self, raw: bytes, status: int, content_type: str, fetched_at: float) -> Token:
        unusable = (
            f"token request to {self._url} got an unusable reply (HTTP {status}, {content_type})"
        )
        try:
            reply = _REPLY.decode(raw)
        except msgspec.DecodeError:
            raise ConnectError(unusable) from None
        if reply.error:
            err = reply.error[0]
            detail = ", ".join(reply.error)
            raise AuthError(f"token request refused by Kraken: {detail}", error=err)
        if status != 200 or not reply.result:
            raise ConnectError(unusable)
        try:
            result = _RESULT.decode(reply.result)
        except msgspec.DecodeError:
            raise ConnectError(unusable) from None
        if not result.token:
            raise ConnectError(unusable)
        return Token(result.token, result.expires, fetched_at)
