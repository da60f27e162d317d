"""Loopback stand-in for Kraken's ``POST /0/private/GetWebSocketsToken`` REST endpoint (and,
given a ``public`` callback, the public ``/0/public/Assets`` and ``/0/public/AssetPairs``).

It checks requests the way Kraken does (docs.kraken.com/api/docs/guides/spot-rest-auth): the
``API-Key`` must be known, ``API-Sign`` must be the HMAC-SHA512 of the exact raw body under that
key's secret, and the nonce must be greater than the last one seen for the key. Failures answer
HTTP 200 with Kraken's error string in the JSON body (``{"error":["EAPI:Invalid key"]}``); success
answers ``{"error":[],"result":{"token":...,"expires":900}}``. Tokens come from a callback, so the
WebSocket simulator decides what a valid token is.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

import msgspec

if TYPE_CHECKING:
    from aiohttp import web

from .._auth import TOKEN_PATH, is_loopback_host, sign
from ._lifetime import StartStop

__all__ = ["RestTokenServer"]

_MAX_NONCE = 2**64 - 1  # Kraken: unsigned 64-bit


class RestTokenServer(StartStop):
    """An aiohttp server on loopback serving Kraken's ``GetWebSocketsToken``.

    Args:
        api_keys: API key -> base64 secret. Read on every request, so keys added to the mapping
            later are honoured.
        mint_token: called with the API key after a request passed every check; returns the token.
        host: a loopback address (``127.0.0.0/8``, ``::1``, ``localhost``).
        port: 0 picks a free port; see [`url`][krakenwire.Client.url] after `start`.
        expires: the ``expires`` value of successful replies.
        public: answers Kraken's public REST endpoints (``Assets``, ``AssetPairs``): called
            with the endpoint name and the query (GET) or form (POST) parameters.

    Attributes:
        fail_with: when set, every request is answered with this Kraken error string.
        requests: number of requests received on the token endpoint (including refused ones).

    Raises:
        ValueError: ``host`` is not loopback, or a secret in ``api_keys`` is not base64.
    """

    def __init__(
        self,
        api_keys: Mapping[str, str],
        mint_token: Callable[[str], str],
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        expires: int = 900,
        public: Callable[[str, dict[str, str]], dict[str, Any]] | None = None,
    ) -> None:
        if not is_loopback_host(host):
            raise ValueError(f"RestTokenServer only binds loopback hosts, not {host!r}")
        for key, secret in api_keys.items():
            if _decode(secret) is None:
                raise ValueError(f"secret of api key {key[:4]!r}… is not valid base64")
        self._api_keys = api_keys
        self._mint_token = mint_token
        self._host = host
        self._port = port
        self._expires = expires
        self._public = public
        self._last_nonce: dict[str, int] = {}
        self._runner: web.AppRunner | None = None
        self._url = ""
        self.fail_with: str | None = None
        self.requests = 0

    @property
    def url(self) -> str:
        """``http://HOST:PORT`` once started."""
        if not self._url:
            raise RuntimeError("RestTokenServer is not started")
        return self._url

    async def start(self) -> None:
        """Bind and start serving. Idempotent."""
        if self._runner is not None:
            return
        from aiohttp import web  # on demand: `krakenwire cancel` must not pay for importing it

        app = web.Application()
        app.router.add_post(TOKEN_PATH, self._handle)
        if self._public is not None:
            for name in ("Assets", "AssetPairs"):
                app.router.add_get(f"/0/public/{name}", self._handle_public)
                app.router.add_post(f"/0/public/{name}", self._handle_public)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        host = self._host.strip("[]")
        self._url = f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"

    async def stop(self) -> None:
        """Stop serving and release the port. Idempotent."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        body = await request.read()
        return _reply(self._check(request.headers.get("API-Key"), request.headers, body))

    async def _handle_public(self, request: web.Request) -> web.Response:
        assert self._public is not None
        params = dict(request.query)
        if request.method == "POST":
            body = await request.read()
            try:
                form = parse_qs(body.decode("ascii"), keep_blank_values=True)
            except (UnicodeDecodeError, ValueError):
                form = {}
            params.update({k: v[-1] for k, v in form.items()})
        return _reply(self._public(request.path.rsplit("/", 1)[-1], params))

    def _check(self, key: str | None, headers: Mapping[str, str], body: bytes) -> dict[str, object]:
        if self.fail_with is not None:
            return {"error": [self.fail_with]}
        secret_b64 = self._api_keys.get(key) if key else None
        if key is None or secret_b64 is None:
            return {"error": ["EAPI:Invalid key"]}
        secret = _decode(secret_b64)
        if secret is None:
            return {"error": ["EGeneral:Internal error"]}
        try:
            postdata = body.decode("ascii")
            form = parse_qs(postdata, keep_blank_values=True)
        except (UnicodeDecodeError, ValueError):
            return {"error": ["EGeneral:Invalid arguments"]}
        nonce_text = form.get("nonce", [""])[-1]
        if not (nonce_text.isascii() and nonce_text.isdigit()) or int(nonce_text) > _MAX_NONCE:
            return {"error": ["EAPI:Invalid nonce"]}
        expected = sign(secret, TOKEN_PATH, nonce_text, postdata)
        given = headers.get("API-Sign", "")
        if not hmac.compare_digest(expected.encode(), given.encode("ascii", "replace")):
            return {"error": ["EAPI:Invalid signature"]}
        # Only a correctly signed request moves the nonce, so forgeries cannot burn nonces.
        nonce = int(nonce_text)
        if nonce <= self._last_nonce.get(key, 0):
            return {"error": ["EAPI:Invalid nonce"]}
        self._last_nonce[key] = nonce
        return {"error": [], "result": {"token": self._mint_token(key), "expires": self._expires}}


def _decode(secret: str) -> bytes | None:
    try:
        raw = base64.b64decode(secret.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw or None


def _reply(payload: dict[str, object]) -> web.Response:
    from aiohttp import web

    # Kraken answers HTTP 200 with errors in the body.
    return web.Response(body=msgspec.json.encode(payload), content_type="application/json")
