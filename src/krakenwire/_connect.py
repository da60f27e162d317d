"""``krakenwire.connect``: validate every option, build the client, open the connection."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterable

from ._auth import Credentials
from ._config import (
    DEFAULT_TIMEOUT,
    ClientConfig,
    ConnectBudget,
    ReconnectPolicy,
    StateChange,
)
from ._pacer import Pacer
from .client import Client
from .errors import ValidationError
from .plugins import PluginHost
from .protocol._events import ChannelFrame

__all__ = ["connect"]


async def connect(
    url: str,
    *,
    token: str | None = None,
    credentials: Credentials | None = None,
    rest_url: str = "https://api.kraken.com",
    timeout: float = DEFAULT_TIMEOUT,
    subscribe: bool = True,
    on_executions: Callable[[ChannelFrame], None] | None = None,
    plugins: Iterable[object] = (),
    autoload_plugins: bool | None = None,
    reconnect: bool = True,
    on_state: Callable[[StateChange], None] | None = None,
    ssl_context: ssl.SSLContext | None = None,
    liveness_timeout: float = 15.0,
    ping_timeout: float = 5.0,
    keepalive_interval: float = 20.0,
    backoff_base: float = 0.5,
    backoff_cap: float = 30.0,
    connect_budget: ConnectBudget | None = None,
    standby: bool = False,
    hedge: bool = False,
    balances: bool = False,
    pacer: Pacer | None = None,
) -> Client:
    """Open an authenticated trading connection, subscribed to ``executions``; returns once the
    executions snapshot is in (so ``client.open_orders`` is complete).

    Args:
        url: ``wss://ws-auth.kraken.com/v2``, or ``ws://127.0.0.1:PORT/v2`` for the simulator
            (plain ``ws://`` is refused for any other host).
        token: a WebSocket token; or give ``credentials``.
        credentials: API key and secret: a fresh token is fetched over REST from ``rest_url``
            for every connection, and again (once for all) when Kraken invalidates it
            mid-session; the requests it rejected are then re-sent once.
        rest_url: Kraken's REST base URL (``sim.rest_url`` for the simulator).
        timeout: default per-call timeout in seconds (also the handshake and subscribe).
        subscribe: subscribe to ``executions`` (Kraken closes an auth socket with none).
        on_executions: called with every executions frame (errors are logged and counted).
        plugins: plugin objects registered before the ``krakenwire`` entry points.
        autoload_plugins: load entry points (default: unless
            ``KRAKENWIRE_DISABLE_PLUGIN_AUTOLOAD=1``; ``KRAKENWIRE_PLUGINS`` is an allow-list).
        reconnect: re-establish the connection after an unexpected drop.
        on_state: called with every [`StateChange`][krakenwire.StateChange].
        ssl_context: for ``wss://``; the default verifies certificates.
        liveness_timeout: no frame for this long -> a ping; no pong within ``ping_timeout``
            -> the socket is dropped and re-established.
        keepalive_interval: ping when nothing was sent for this long.
        backoff_base: the first reconnect delay (capped, jittered exponential backoff).
        backoff_cap: the longest reconnect delay.
        connect_budget: attempts allowed per rolling window (default 100 per 10 minutes).
        standby: keep a second authenticated, subscribed socket warm: when the primary dies,
            the standby is promoted at once and the idempotent requests in flight (cancels,
            the dead man's switch) are re-sent on it; order entry is never re-sent.
        hedge: send every cancel on both sockets (with ``standby``); the first reply settles
            it. Each copy counts against Kraken's per-connection message rate.
        balances: also subscribe to the ``balances`` channel and wait for its snapshot, so
            ``client.balances`` is complete on return. Off by default: the cancel path does
            not need it, it adds a subscribe round trip to every connect, and a key without
            the funds-query permission would have the subscribe refused.
        pacer: a [`Pacer`][krakenwire.Pacer]: order entry waits (or is refused, nothing sent)
            rather than pass Kraken's trading rate counter; cancels are never paced.

    Raises:
        ValidationError: a bad argument (neither token nor credentials, a URL that would send
            the token in plain text, a timeout that is not a positive number). ConnectError:
            the server cannot be reached or never answered the subscribe. AuthError: the token
            (or the token fetch) was refused; ``.error`` is Kraken's string.
    """
    config = ClientConfig(
        url=url,
        timeout=timeout,
        subscribe=subscribe,
        reconnect=reconnect,
        balances=balances,
        liveness_timeout=liveness_timeout,
        ping_timeout=ping_timeout,
        keepalive_interval=keepalive_interval,
        backoff_base=backoff_base,
        backoff_cap=backoff_cap,
        rest_url=rest_url,
        ssl_context=ssl_context,
    )
    if not token and credentials is None:
        raise ValidationError(
            "connect needs token= (a WebSocket token string) or credentials=",
            field="token",
            value=None,
        )
    if token is not None and type(token) is not str:
        raise ValidationError("token must be a str", field="token", value=None)
    if credentials is not None and not isinstance(credentials, Credentials):
        raise ValidationError("credentials must be a krakenwire.Credentials", field="credentials")
    for name, flag in (("standby", standby), ("hedge", hedge)):
        if type(flag) is not bool:
            raise ValidationError(f"{name} must be a bool, got {flag!r}", field=name)
    if hedge and not standby:
        raise ValidationError("hedge=True needs standby=True (a second socket)", field="hedge")
    for name, fn in (("on_state", on_state), ("on_executions", on_executions)):
        if fn is not None and not callable(fn):
            raise ValidationError(f"{name} must be callable", field=name)
    policy = ReconnectPolicy(
        base=backoff_base, cap=backoff_cap, budget=connect_budget or ConnectBudget()
    )
    if pacer is not None:
        if not isinstance(pacer, Pacer):
            raise ValidationError("pacer must be a krakenwire.Pacer", field="pacer")
        plugins = [*plugins, pacer]  # it learns from the executions stream through its hook
    host = PluginHost(plugins, autoload=autoload_plugins)
    client = Client(
        config,
        token=token,
        credentials=credentials,
        plugins=host,
        policy=policy,
        on_state=on_state,
        on_executions=on_executions,
        standby=standby,
        hedge=hedge,
    )
    client._pacer = pacer
    await client._open()
    return client
