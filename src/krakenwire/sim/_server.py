"""The in-process Kraken Spot WebSocket v2 simulator: a picows server in front of the engine.

[`Simulator`][krakenwire.sim.Simulator] listens on loopback (any request path, unless
``strict_path``), serves the REST token endpoint next to it, and exposes the engine's state and
fault levers as its public API. The rules of the exchange live in the engine (`_engine`) and its
handlers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import ssl
from collections.abc import Iterator, Mapping
from http import HTTPStatus

from picows import (
    WSCloseCode,
    WSMsgType,
    WSUpgradeRequest,
    WSUpgradeResponse,
    WSUpgradeResponseWithListener,
    ws_create_server,
)

from ._book import Account
from ._config import SimConfig
from ._conn import Conn
from ._engine import SYSTEMS, Engine
from ._lifetime import StartStop
from ._pairs import asset_pairs_reply, assets_reply
from ._public import PublicHub
from ._rest import RestTokenServer

__all__ = ["SimConfig", "Simulator"]

PROXY_RESTARTING = b"CloudFlare WebSocket proxy restarting"


class Simulator(StartStop):
    """A Kraken Spot WebSocket v2 (ws-auth) simulator on a loopback port.

    Args:
        host: a loopback address (``127.0.0.1``, ``::1``, ...).
        port: TCP port; 0 picks a free one (read it back from [`url`][krakenwire.Client.url]).
        orders: resting orders to seed on the default account.
        accounts: number of accounts, each with its own key, secret and token.
        config: behaviour switches; defaults to [`SimConfig`][krakenwire.sim.SimConfig].
        rest: also serve the REST ``GetWebSocketsToken`` endpoint (`rest_url`), and
            with ``public`` the public ``Assets``/``AssetPairs`` endpoints beside it.
        public: also serve the public market-data endpoint (`public_url`) on its own
            port: ``instrument``, ``book``, ``ticker``, ``trade``.
        ssl_context: serve ``wss://`` with this context.

    Raises:
        ValueError: ``host`` is not a loopback address, or ``accounts`` < 1.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        orders: int = 0,
        accounts: int = 1,
        config: SimConfig | None = None,
        rest: bool = True,
        ssl_context: ssl.SSLContext | None = None,
        public: bool = True,
    ) -> None:
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            raise ValueError(f"the simulator only listens on loopback, not {host!r}")
        if accounts < 1:
            raise ValueError("accounts must be >= 1")
        self.host = host
        self.port = port
        self.config = config or SimConfig()
        self.engine = Engine(self.config, accounts)
        self._ssl = ssl_context
        self._server: asyncio.Server | None = None
        # The public endpoint (Kraken's ws.kraken.com), on its own loopback port.
        self.public: PublicHub | None = PublicHub(self.engine) if public else None
        self.public_port = 0
        self._public_server: asyncio.Server | None = None
        # The REST GetWebSocketsToken endpoint, on its own loopback port (aiohttp).
        self._rest: RestTokenServer | None = (
            RestTokenServer(
                _LiveKeys(self.engine),
                self.mint_token,
                host=host,
                public=self._public_rest if public else None,
            )
            if rest
            else None
        )
        if orders:
            self.engine.accounts[0].place(orders)

    def __repr__(self) -> str:
        return f"Simulator(url={self.url!r}, system={self.system!r})"

    # -- public API ----------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``ws://HOST:PORT`` with no path, for clients that append ``/v2`` themselves."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "wss" if self._ssl is not None else "ws"
        return f"{scheme}://{host}:{self.port}"

    @property
    def url(self) -> str:
        """``ws://HOST:PORT/v2``, like Kraken's ``wss://ws-auth.kraken.com/v2``."""
        return f"{self.base_url}/v2"

    @property
    def public_base_url(self) -> str:
        """``ws://HOST:PUBLIC_PORT`` with no path (python-kraken-sdk appends ``/v2``)."""
        if self.public is None:
            raise RuntimeError("this simulator was created with public=False")
        host = f"[{self.host}]" if ":" in self.host else self.host
        scheme = "wss" if self._ssl is not None else "ws"
        return f"{scheme}://{host}:{self.public_port}"

    @property
    def public_url(self) -> str:
        """``ws://HOST:PUBLIC_PORT/v2``, like Kraken's public ``wss://ws.kraken.com/v2``."""
        return f"{self.public_base_url}/v2"

    def _hub(self) -> PublicHub:
        if self.public is None:
            raise RuntimeError("this simulator was created with public=False")
        return self.public

    def publish_book(self, symbol: str = "BTC/USD", steps: int = 1) -> None:
        """Move ``symbol``'s public book ``steps`` times now (each move re-centres it on the
        market price and changes a few levels) and send every subscriber its updates."""
        self._hub().publish(symbol, steps)

    def corrupt_book(self, updates: int = 1) -> None:
        """Give the next ``updates`` book updates (of any symbol) a wrong checksum."""
        self._hub().corrupt_next += updates

    def drop_book_update(self, updates: int = 1) -> None:
        """Do not send the next ``updates`` book updates (the book still moves)."""
        self._hub().drop_next += updates

    def delay_book_update(self, seconds: float) -> None:
        """Send the next book update ``seconds`` late (the frames behind it wait)."""
        self._hub().delay_next = seconds

    def _public_rest(self, name: str, params: dict[str, str]) -> dict[str, object]:
        if name == "Assets":
            return assets_reply(params)
        return asset_pairs_reply(self.config, params)

    @property
    def rest_url(self) -> str:
        """Base URL of the REST token endpoint (``POST /0/private/GetWebSocketsToken``)."""
        if self._rest is None:
            raise RuntimeError("this simulator was created with rest=False")
        return self._rest.url

    @property
    def system(self) -> str:
        """The engine state: online, cancel_only, maintenance or post_only."""
        return self.engine.system

    @property
    def frames_received(self) -> int:
        return self.engine.frames_received

    @property
    def blackhole(self) -> bool:
        """While True, every frame is read and dropped and nothing is sent."""
        return self.engine.blackhole

    @blackhole.setter
    def blackhole(self, value: bool) -> None:
        self.engine.blackhole = value

    @property
    def token(self) -> str:
        """The default account's first token."""
        return self.engine.default_tokens[0]

    @property
    def tokens(self) -> list[str]:
        """Every token the simulator would accept right now."""
        return self.engine.live_tokens()

    @property
    def accounts(self) -> list[Account]:
        return list(self.engine.accounts)

    @property
    def api_keys(self) -> dict[str, str]:
        """API key -> base64 API secret, for every account."""
        return {a.api_key: a.api_secret for a in self.engine.accounts}

    def account(self, token: str) -> Account:
        """The account a token (live or not) belongs to. Raises KeyError if never minted."""
        return self.engine.token_account(token)

    def price(self, symbol: str = "BTC/USD") -> str:
        """The symbol's current market price (decimal text)."""
        return str(self.engine.market.price(symbol))

    def step_market(self, steps: int = 1) -> str:
        """Move every symbol's price ``steps`` steps now and fill what they reach (the market
        timer does the same every ``market_interval`` while ``SimConfig.market`` is on).

        Returns:
            the BTC/USD price after the steps (decimal text).
        """
        for _ in range(steps):
            self.engine.market.step(self.engine.accounts)
        return self.price()

    def mint_token(self, api_key: str) -> str:
        """A fresh opaque WebSocket token for the account of ``api_key``.

        Raises:
            KeyError: no account has that key.
        """
        return self.engine.mint_token(api_key)

    def invalidate_tokens(self, api_key: str | None = None) -> None:
        """Kill every token (of one account, if ``api_key`` is given) server-side, at once."""
        self.engine.invalidate_tokens(api_key)

    def _live(self) -> list[Conn]:
        return [c for c in self.engine.peers if isinstance(c, Conn) and not c.closed]

    async def drop_connections(self, code: int | None = None) -> int:
        """Close every client connection: abruptly (``code=None``, like a 1006) or with a close
        frame carrying ``code`` (1001 for a gateway restart, 1008 for a policy violation).

        Returns:
            how many connections were closed.
        """
        conns = [c for c in self._live() if c.transport is not None]
        for conn in conns:
            assert conn.transport is not None
            if code is None:
                conn.transport.disconnect(graceful=False)
            else:
                conn.transport.send_close(WSCloseCode(code))
                conn.transport.disconnect()
        await asyncio.sleep(0)
        return len(conns)

    def connection_ids(self) -> list[int]:
        """The ``connection_id`` of every live connection (each one's ``status`` frame has it)."""
        return [c.connection_id for c in self._live()]

    def _conn(self, connection_id: int) -> Conn:
        for c in self._live():
            if c.connection_id == connection_id:
                return c
        raise KeyError(f"no live connection {connection_id}")

    async def kill_connection(self, connection_id: int, code: int | None = None) -> None:
        """Close one named connection, mid-flight: abruptly (``code=None``, no reply to what it
        has in flight) or with a close frame. The account's other connections carry on.

        Raises:
            KeyError: no live connection has that id.
        """
        self._conn(connection_id).kill(code)
        await asyncio.sleep(0)

    def set_connection_latency(
        self, connection_id: int, latency: float = 0.0, jitter: float = 0.0
    ) -> None:
        """Delay every frame to one connection by ``latency`` + uniform 0..``jitter`` seconds
        (frames keep their order): a slow socket among an account's several.

        Raises:
            KeyError: no live connection has that id.
        """
        self._conn(connection_id).extra_latency = (latency, jitter)

    def skip_sequence(self, *, drop: bool = True) -> None:
        """Make the next executions update show a ``sequence`` gap on every connection: with
        ``drop`` the update is lost (its number consumed, the frame never sent), otherwise it
        is sent with one number skipped. Clients should re-subscribe for a fresh snapshot."""
        self.engine.skip_sequence(drop)

    def inject(self, data: bytes) -> int:
        """Send ``data`` as a raw text frame to every connection (fuzzing clients).

        Returns:
            how many connections it was sent to.
        """
        conns = self._live()
        for conn in conns:
            conn.send(data)
        return len(conns)

    async def set_system(self, system: str) -> None:
        """Change the engine state and push a ``status`` update to every connection."""
        if system not in SYSTEMS:
            raise ValueError(f"system must be one of {sorted(SYSTEMS)}, not {system!r}")
        self.engine.system = system
        for conn in list(self.engine.peers):
            self.engine.send_status(conn)

    async def start(self) -> None:
        """Start listening; [`url`][krakenwire.Client.url] then carries the real port."""
        if self._server is not None:
            return
        self._server = await ws_create_server(self._factory, self.host, self.port, ssl=self._ssl)
        self.port = self._server.sockets[0].getsockname()[1]
        if self.public is not None:
            self._public_server = await ws_create_server(
                self.public.factory, self.host, self.public_port, ssl=self._ssl
            )
            self.public_port = self._public_server.sockets[0].getsockname()[1]
            self.public.start()
        if self._rest is not None:
            await self._rest.start()
        self.engine.start()

    async def stop(self) -> None:
        """Close every connection and the listener; cancel all timers."""
        self.engine.stop()
        for conn in self._live():
            conn.close(1001, b"")
        if self.public is not None:
            self.public.stop()
        for server in (self._server, self._public_server):
            if server is not None:
                server.close()
                await server.wait_closed()
        self._server = self._public_server = None
        if self._rest is not None:
            await self._rest.stop()
        await asyncio.sleep(0)

    def _factory(self, request: WSUpgradeRequest) -> Conn | WSUpgradeResponseWithListener | None:
        if not self.engine.admit():  # the connection-attempt budget (Cloudflare's ban)
            return WSUpgradeResponseWithListener(
                WSUpgradeResponse.create_error_response(HTTPStatus.TOO_MANY_REQUESTS), None
            )
        if self.config.strict_path and request.path.split(b"?", 1)[0] != b"/v2":
            return None  # picows answers 404
        return Conn(self.engine)

    def proxy_restart(self, drop_after: float | None = 0.5) -> int:
        """Send every connection Kraken's bare text frame ``CloudFlare WebSocket proxy
        restarting`` (recorded from the venue, kraken-ws-v2.md section 9), then drop them all
        ``drop_after`` seconds later (``None``: the notice only). Returns how many got it."""
        conns = [c for c in self.engine.peers if isinstance(c, Conn) and not c.closed]
        for c in conns:
            if c.transport is not None:
                c.transport.send(WSMsgType.TEXT, PROXY_RESTARTING)
        if drop_after is not None:
            asyncio.get_running_loop().call_later(drop_after, _kill_all, conns)
        return len(conns)


def _kill_all(conns: list[Conn]) -> None:
    for c in conns:
        c.kill()


class _LiveKeys(Mapping[str, str]):
    """The simulator's API keys as a live read-only mapping for the REST endpoint."""

    def __init__(self, eng: Engine) -> None:
        self._eng = eng

    def __getitem__(self, key: str) -> str:
        return self._eng.by_key[key].api_secret

    def __iter__(self) -> Iterator[str]:
        return iter(self._eng.by_key)

    def __len__(self) -> int:
        return len(self._eng.by_key)
