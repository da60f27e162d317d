"""Signing vectors, credentials hygiene, nonces, and token fetches against a loopback server."""

from __future__ import annotations

import asyncio
import base64
import itertools
import socket
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from krakenwire._auth import (
    TOKEN_PATH,
    Credentials,
    CredentialsError,
    NonceSource,
    Token,
    TokenFetcher,
    is_loopback_host,
    sign,
)
from krakenwire.errors import AuthError, ConnectError
from krakenwire.sim._rest import RestTokenServer

# Kraken docs worked example (spot-rest-auth), doc §2.3 vector 1.
DOC_SECRET = (
    "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
)
DOC_NONCE = 1616492376594
DOC_POSTDATA = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25"
DOC_SIGN = (
    "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
)
# Kraken SDK golden vector (rust/src/auth/signer.rs), doc §2.3 vector 2.
SDK_SECRET = "AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE="
SDK_SIGN = (
    "6i7+cpXVLDDnDOekgsRcgFQhkYFyPDSSxhSVA8OrA6vjziXcy2K1DP3n7f9B/Kgni71WjBSQusZKxduRsdF20Q=="
)
# Self-computed vector for the token endpoint, doc §2.3 vector 3.
TOKEN_SIGN = (
    "+mRDmY9Ks0Moc1zjv/BjfvYa98buO0x1yHChZR5onlfAzAUbfIYlLggUZzdQ0RsmXm4Sh+Q8iAIZdo2wSeHeiA=="
)

KEY = "test-key-AAAA"
SECRET = base64.b64encode(bytes(range(64))).decode()
OTHER_SECRET = base64.b64encode(b"\x02" * 64).decode()


# --- signing ---------------------------------------------------------------------------------


def test_vector_1_kraken_docs_add_order() -> None:
    assert sign(DOC_SECRET, "/0/private/AddOrder", DOC_NONCE, DOC_POSTDATA) == DOC_SIGN
    assert sign(DOC_SECRET, "/0/private/AddOrder", str(DOC_NONCE), DOC_POSTDATA) == DOC_SIGN
    creds = Credentials("k", DOC_SECRET)
    assert creds.sign("/0/private/AddOrder", DOC_NONCE, DOC_POSTDATA) == DOC_SIGN


def test_vector_2_sdk_golden() -> None:
    nonce = 1700000000000000000
    body = "nonce=1700000000000000000"
    assert sign(SDK_SECRET, "/0/private/Balance", nonce, body) == SDK_SIGN
    assert sign(b"\x01" * 32, "/0/private/Balance", nonce, body) == SDK_SIGN
    assert len(SDK_SIGN) == 88


def test_vector_3_get_websockets_token() -> None:
    assert TOKEN_PATH == "/0/private/GetWebSocketsToken"
    got = sign(DOC_SECRET, TOKEN_PATH, DOC_NONCE, f"nonce={DOC_NONCE}")
    assert got == TOKEN_SIGN


def test_sign_rejects_bad_base64_without_echoing_it() -> None:
    with pytest.raises(ValueError, match="api secret is not valid base64") as info:
        sign("not*base64!", "/0/private/Balance", 1, "nonce=1")
    assert "not*base64!" not in str(info.value)


# --- credentials -----------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["not base64 at all!", "abc", "QUJD*", "QUJDRA=", ""])
def test_bad_secret_named_not_shown(bad: str) -> None:
    with pytest.raises(CredentialsError, match="api secret") as info:
        Credentials(KEY, bad)
    assert isinstance(info.value, ValueError) and isinstance(info.value, AuthError)
    if bad:
        assert bad not in str(info.value)
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__


@pytest.mark.parametrize("bad", ["", "   ", "\n"])
def test_empty_key(bad: str) -> None:
    with pytest.raises(CredentialsError, match="api key is empty"):
        Credentials(bad, SECRET)


def test_key_with_control_characters() -> None:
    with pytest.raises(CredentialsError, match="api key"):
        Credentials("abc\x00def", SECRET)


def test_whitespace_is_stripped() -> None:
    creds = Credentials(f" {KEY}\n", f"{SECRET}\n")
    assert creds.key == KEY
    assert creds.sign("/p", 1, "nonce=1") == sign(SECRET, "/p", 1, "nonce=1")


def test_repr_and_str_hide_secret() -> None:
    creds = Credentials(KEY, SECRET)
    assert SECRET not in repr([creds])
    for text in (repr(creds), str(creds), f"{creds}"):
        assert SECRET not in text
        assert KEY not in text
        assert text == "Credentials(key='test'…)"
    assert not any(SECRET in repr(v) for v in vars(type(creds)).values())


def test_credentials_cannot_be_pickled() -> None:
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(Credentials(KEY, SECRET))


def test_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRAKEN_API_KEY", KEY)
    monkeypatch.setenv("KRAKEN_API_SECRET", SECRET)
    assert Credentials.from_env().key == KEY
    monkeypatch.setenv("MY_K", KEY)
    monkeypatch.setenv("MY_S", SECRET)
    assert Credentials.from_env("MY_K", "MY_S").key == KEY


@pytest.mark.parametrize("missing", ["KRAKEN_API_KEY", "KRAKEN_API_SECRET"])
def test_from_env_missing_names_variable(monkeypatch: pytest.MonkeyPatch, missing: str) -> None:
    monkeypatch.setenv("KRAKEN_API_KEY", KEY)
    monkeypatch.setenv("KRAKEN_API_SECRET", SECRET)
    monkeypatch.delenv(missing)
    with pytest.raises(CredentialsError, match=f"environment variable {missing} is not set") as i:
        Credentials.from_env()
    assert KEY not in str(i.value) and SECRET not in str(i.value)


def test_from_env_invalid_values_name_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KRAKEN_API_KEY", KEY)
    monkeypatch.setenv("KRAKEN_API_SECRET", "s3cr3t-not-base64!")
    with pytest.raises(CredentialsError, match="KRAKEN_API_SECRET is not valid base64") as info:
        Credentials.from_env()
    assert "s3cr3t-not-base64!" not in str(info.value)
    monkeypatch.setenv("KRAKEN_API_SECRET", SECRET)
    monkeypatch.setenv("KRAKEN_API_KEY", "  ")
    with pytest.raises(CredentialsError, match="KRAKEN_API_KEY is empty"):
        Credentials.from_env()


# --- nonces ----------------------------------------------------------------------------------


@given(st.lists(st.integers(min_value=0, max_value=2**63), min_size=1, max_size=200))
def test_nonce_source_strictly_increasing(clock_values: list[int]) -> None:
    ticks = iter(clock_values)
    source = NonceSource(clock=lambda: next(ticks))
    got = [source.next() for _ in clock_values]
    assert all(b > a for a, b in itertools.pairwise(got))
    assert all(n >= c for n, c in zip(got, clock_values, strict=True))
    assert source.last == got[-1]


def test_nonce_source_default_clock_is_nanoseconds() -> None:
    source = NonceSource()
    before = time.time_ns()
    got = [source.next() for _ in range(1000)]
    assert got[0] >= before
    assert all(b > a for a, b in itertools.pairwise(got))


def test_one_nonce_source_per_credentials() -> None:
    a, b = Credentials(KEY, SECRET), Credentials(KEY, SECRET)
    assert a.nonces is not b.nonces
    assert a.nonces is a.nonces


# --- tokens and the loopback REST server -----------------------------------------------------


def counter_minter() -> Callable[[str], str]:
    counter = itertools.count(1)
    return lambda api_key: f"tok-{api_key}-{next(counter)}"


def run_with_server(body: Callable[[RestTokenServer], Awaitable[Any]], **server_kw: Any) -> Any:
    async def main() -> Any:
        async with RestTokenServer({KEY: SECRET}, counter_minter(), **server_kw) as server:
            return await body(server)

    return asyncio.run(main())


def test_token_repr_hides_value() -> None:
    token = Token("super-secret-token", 900, 12.5)
    assert "super-secret-token" not in repr(token)
    assert "super-secret-token" not in str(token)
    assert token.expires_at == 912.5


def test_fetch_success() -> None:
    async def body(server: RestTokenServer) -> None:
        fetcher = TokenFetcher(Credentials(KEY, SECRET), server.url)
        before = time.monotonic()
        token = await fetcher.fetch()
        assert token.value == f"tok-{KEY}-1"
        assert token.expires == 900
        assert before <= token.fetched_at <= time.monotonic()
        assert token.value not in repr(token)
        assert server.requests == 1

    run_with_server(body)


def test_server_url_and_reply_shape() -> None:
    creds = Credentials(KEY, SECRET)

    async def body(server: RestTokenServer) -> None:
        assert server.url.startswith("http://127.0.0.1:")
        nonce = creds.nonces.next()
        data = f"nonce={nonce}"
        headers = {"API-Key": KEY, "API-Sign": creds.sign(TOKEN_PATH, nonce, data)}
        async with (
            aiohttp.ClientSession() as session,
            session.post(server.url + TOKEN_PATH, data=data.encode(), headers=headers) as resp,
        ):
            assert resp.status == 200
            assert resp.content_type == "application/json"
            assert await resp.read() == (
                b'{"error":[],"result":{"token":"tok-test-key-AAAA-1","expires":900}}'
            )

    run_with_server(body)


def test_wrong_key() -> None:
    async def body(server: RestTokenServer) -> None:
        with pytest.raises(AuthError) as info:
            await TokenFetcher(Credentials("unknown-key", SECRET), server.url).fetch()
        assert info.value.error == "EAPI:Invalid key"
        assert str(info.value) == "token request refused by Kraken: EAPI:Invalid key"

    run_with_server(body)


def test_wrong_secret() -> None:
    async def body(server: RestTokenServer) -> None:
        with pytest.raises(AuthError) as info:
            await TokenFetcher(Credentials(KEY, OTHER_SECRET), server.url).fetch()
        assert info.value.error == "EAPI:Invalid signature"
        assert OTHER_SECRET not in str(info.value)

    run_with_server(body)


async def raw_post(url: str, data: str, headers: dict[str, str]) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url + TOKEN_PATH, data=data.encode(), headers=headers) as resp,
    ):
        assert resp.status == 200  # Kraken puts errors in the body
        return await resp.json()


def test_replayed_and_lower_nonce() -> None:
    creds = Credentials(KEY, SECRET)

    def signed(nonce: int) -> tuple[str, dict[str, str]]:
        data = f"nonce={nonce}"
        return data, {"API-Key": KEY, "API-Sign": creds.sign(TOKEN_PATH, nonce, data)}

    async def body(server: RestTokenServer) -> None:
        ok = await raw_post(server.url, *signed(1000))
        assert ok["error"] == [] and ok["result"]["token"]
        assert await raw_post(server.url, *signed(1000)) == {"error": ["EAPI:Invalid nonce"]}
        assert await raw_post(server.url, *signed(999)) == {"error": ["EAPI:Invalid nonce"]}
        # A badly signed request with a higher nonce must not move the nonce forward.
        data, headers = signed(5000)
        headers["API-Sign"] = creds.sign(TOKEN_PATH, 5000, "nonce=5001")
        assert await raw_post(server.url, data, headers) == {"error": ["EAPI:Invalid signature"]}
        assert (await raw_post(server.url, *signed(1001)))["error"] == []
        # The fetcher's nanosecond nonces are far above, so it still succeeds afterwards.
        token = await TokenFetcher(creds, server.url).fetch()
        assert token.value == f"tok-{KEY}-3"

    run_with_server(body)


def test_nonce_missing_or_malformed() -> None:
    creds = Credentials(KEY, SECRET)

    async def body(server: RestTokenServer) -> None:
        for data in ["", "otp=123", "nonce=", "nonce=abc", "nonce=-5", f"nonce={2**64}"]:
            headers = {"API-Key": KEY, "API-Sign": creds.sign(TOKEN_PATH, "", data)}
            assert await raw_post(server.url, data, headers) == {"error": ["EAPI:Invalid nonce"]}
        # Signature is checked over the exact raw body, extra fields included.
        data = "nonce=77&otp=123"
        headers = {"API-Key": KEY, "API-Sign": creds.sign(TOKEN_PATH, 77, data)}
        assert (await raw_post(server.url, data, headers))["error"] == []
        headers["API-Key"] = ""
        assert await raw_post(server.url, data, headers) == {"error": ["EAPI:Invalid key"]}
        del headers["API-Sign"]
        headers["API-Key"] = KEY
        data = "nonce=78"
        assert await raw_post(server.url, data, headers) == {"error": ["EAPI:Invalid signature"]}

    run_with_server(body)


def test_fail_with_switch() -> None:
    async def body(server: RestTokenServer) -> None:
        server.fail_with = "EGeneral:Temporary lockout"
        fetcher = TokenFetcher(Credentials(KEY, SECRET), server.url)
        with pytest.raises(AuthError) as info:
            await fetcher.fetch()
        assert info.value.error == "EGeneral:Temporary lockout"
        server.fail_with = None
        assert (await fetcher.fetch()).value == f"tok-{KEY}-1"
        assert server.requests == 2

    run_with_server(body)


def test_single_flight() -> None:
    async def body(server: RestTokenServer) -> None:
        fetcher = TokenFetcher(Credentials(KEY, SECRET), server.url)
        tokens = await asyncio.gather(*(fetcher.fetch() for _ in range(10)))
        assert server.requests == 1
        assert len({id(t) for t in tokens}) == 1
        assert tokens[0].value == f"tok-{KEY}-1"
        again = await fetcher.fetch()
        assert server.requests == 2
        assert again.value == f"tok-{KEY}-2"

    run_with_server(body)


def test_single_flight_shares_errors_and_survives_cancelled_caller() -> None:
    async def body(server: RestTokenServer) -> None:
        fetcher = TokenFetcher(Credentials(KEY, SECRET), server.url)
        server.fail_with = "EAPI:Invalid key"
        results = await asyncio.gather(*(fetcher.fetch() for _ in range(5)), return_exceptions=True)
        assert server.requests == 1
        assert all(isinstance(r, AuthError) and r.error == "EAPI:Invalid key" for r in results)
        server.fail_with = None
        first = asyncio.create_task(fetcher.fetch())
        second = asyncio.create_task(fetcher.fetch())
        await asyncio.sleep(0)
        first.cancel()
        token = await second
        assert token.value == f"tok-{KEY}-1"
        assert first.cancelled()
        assert server.requests == 2

    run_with_server(body)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_connect_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"

    async def main() -> None:
        with pytest.raises(ConnectError, match="token request to .* failed") as info:
            await TokenFetcher(Credentials(KEY, SECRET), url, timeout=5).fetch()
        assert SECRET not in str(info.value)
        assert not isinstance(info.value, AuthError)

    asyncio.run(main())


def test_silent_server_times_out() -> None:
    async def main() -> None:
        conns: list[asyncio.StreamWriter] = []

        async def swallow(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            conns.append(w)

        server = await asyncio.start_server(swallow, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            fetcher = TokenFetcher(
                Credentials(KEY, SECRET), f"http://127.0.0.1:{port}", timeout=0.3
            )
            with pytest.raises(ConnectError, match="timed out after 0.3s"):
                await fetcher.fetch()
        finally:
            for w in conns:
                w.close()
            server.close()
            await server.wait_closed()

    asyncio.run(main())


def test_unusable_reply_is_connect_error() -> None:
    async def main() -> None:
        async def handler(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            await _r.readuntil(b"\r\n\r\n")
            w.write(b"HTTP/1.1 502 Bad Gateway\r\nContent-Type: text/html\r\n")
            w.write(b"Content-Length: 5\r\nConnection: close\r\n\r\n<html")
            await w.drain()
            w.close()

        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        try:
            fetcher = TokenFetcher(Credentials(KEY, SECRET), f"http://127.0.0.1:{port}")
            with pytest.raises(ConnectError, match=r"unusable reply \(HTTP 502, text/html\)"):
                await fetcher.fetch()
        finally:
            server.close()
            await server.wait_closed()

    asyncio.run(main())


@pytest.mark.parametrize(
    "url",
    [
        "http://example.invalid",
        "http://10.0.0.1:8080",
        "http://[2001:db8::1]",
        "ftp://127.0.0.1",
        "ws://127.0.0.1",
        "https://api.kraken.com/proxy",
        "api.kraken.com",
    ],
)
def test_refused_urls_before_any_network(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    def no_network(*_a: object, **_k: object) -> None:
        raise AssertionError("network touched")

    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(aiohttp, "ClientSession", no_network)
    with pytest.raises(ValueError, match="rest_url") as info:
        TokenFetcher(Credentials(KEY, SECRET), url)
    assert repr(url) in str(info.value)


@pytest.mark.parametrize(
    "url",
    [
        "https://api.kraken.com",
        "https://api.kraken.com/",
        "http://127.0.0.1:1",
        "http://127.9.8.7",
        "http://[::1]:1",
        "http://localhost:1",
    ],
)
def test_accepted_urls(url: str) -> None:
    fetcher = TokenFetcher(Credentials(KEY, SECRET), url)
    assert fetcher.url == url.rstrip("/") + TOKEN_PATH
    assert SECRET not in repr(fetcher)


def test_loopback_host_check() -> None:
    for host in ["127.0.0.1", "127.255.0.9", "::1", "[::1]", "localhost", "LOCALHOST."]:
        assert is_loopback_host(host), host
    for host in ["0.0.0.0", "10.0.0.1", "example.invalid", "localhost.example", "::", ""]:
        assert not is_loopback_host(host), host


def test_server_refuses_non_loopback_and_bad_secret() -> None:
    for host in ["0.0.0.0", "10.0.0.1", "example.invalid"]:
        with pytest.raises(ValueError, match="loopback"):
            RestTokenServer({KEY: SECRET}, counter_minter(), host=host)
    with pytest.raises(ValueError, match="not valid base64") as info:
        RestTokenServer({KEY: "nope!"}, counter_minter())
    assert "nope!" not in str(info.value)


def test_server_url_before_start_and_ipv6() -> None:
    server = RestTokenServer({KEY: SECRET}, counter_minter())
    with pytest.raises(RuntimeError):
        _ = server.url

    async def main() -> None:
        try:
            srv = RestTokenServer({KEY: SECRET}, counter_minter(), host="::1")
            await srv.start()
        except OSError:
            pytest.skip("no IPv6 loopback")
        try:
            assert srv.url.startswith("http://[::1]:")
            token = await TokenFetcher(Credentials(KEY, SECRET), srv.url).fetch()
            assert token.value == f"tok-{KEY}-1"
        finally:
            await srv.stop()
            await srv.stop()

    asyncio.run(main())


def test_keys_added_later_are_honoured() -> None:
    keys: dict[str, str] = {}

    async def main() -> None:
        async with RestTokenServer(keys, counter_minter()) as server:
            fetcher = TokenFetcher(Credentials(KEY, SECRET), server.url)
            with pytest.raises(AuthError):
                await fetcher.fetch()
            keys[KEY] = SECRET
            assert (await fetcher.fetch()).value == f"tok-{KEY}-1"

    asyncio.run(main())
