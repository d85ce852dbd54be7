"""`webapp serve`'s bounded connections, over real sockets: head and body deadlines, keep-alive, the cap."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

from webapp.app import create_app
from webapp.cli import build_parser
from webapp.serve import listen
from webapp.settings import Settings

GUARD_S = 20  # never waited for: a deadline that turns a connection left open into a failure


@pytest.fixture
async def start(settings: Settings, sessionmaker: Any, clock: Any) -> AsyncIterator[Any]:
    """Start the site behind `listen` with some limits changed; return its port."""
    started: list[tuple[web.AppRunner, asyncio.Server]] = []

    async def build(**limits: int) -> int:
        changed = settings.with_(**limits)
        runner = web.AppRunner(create_app(changed, sessionmaker=sessionmaker, clock=clock),
                               keepalive_timeout=changed.keepalive_timeout_s)
        await runner.setup()
        server = await listen(runner, changed, host="127.0.0.1", port=0)
        started.append((runner, server))
        return int(server.sockets[0].getsockname()[1])

    yield build
    for runner, server in started:
        server.close()
        await runner.cleanup()


async def until_closed(port: int, sent: bytes) -> bytes:
    """Send `sent`, then read until the server closes the connection; everything it answered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(sent)
    try:
        return await asyncio.wait_for(reader.read(), GUARD_S)
    except ConnectionResetError:
        return b""
    finally:
        writer.close()


async def test_a_client_that_sends_half_a_head_and_stalls_is_closed(start: Any) -> None:
    port = await start(header_timeout_s=1, keepalive_timeout_s=60)
    assert await until_closed(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ") == b""


async def test_a_client_that_never_sends_a_byte_is_closed(start: Any) -> None:
    port = await start(header_timeout_s=1, keepalive_timeout_s=60)
    assert await until_closed(port, b"") == b""


async def test_a_body_shorter_than_declared_is_closed_without_an_answer(start: Any) -> None:
    port = await start(header_timeout_s=60, body_timeout_s=1, keepalive_timeout_s=60)
    head = b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n"
    answer = await until_closed(port, head + b"username=a")
    assert b" 200 " not in answer and b" 302 " not in answer


async def test_an_idle_keep_alive_connection_is_closed_after_its_answer(start: Any) -> None:
    port = await start(header_timeout_s=60, keepalive_timeout_s=1)
    answer = await until_closed(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 200 ")


async def test_connections_past_the_cap_are_refused_and_the_others_still_served(start: Any) -> None:
    port = await start(header_timeout_s=60, keepalive_timeout_s=60, max_connections=2)
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(2)]
    assert await until_closed(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n") == b""
    reader, writer = held[0]
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert (await asyncio.wait_for(reader.read(), GUARD_S)).startswith(b"HTTP/1.1 200 ")
    for _reader, w in held:
        w.close()


def test_serve_and_the_workers_metrics_listen_on_loopback_unless_asked() -> None:
    parser = build_parser()
    assert parser.parse_args(["serve"]).host == "127.0.0.1"
    assert parser.parse_args(["worker", "--metrics-port", "9100"]).metrics_host == "127.0.0.1"
    assert parser.parse_args(["worker", "--metrics-host", "0.0.0.0"]).metrics_host == "0.0.0.0"


def test_the_limits_come_from_the_environment() -> None:
    s = Settings.from_env({"HEADER_TIMEOUT_S": "5", "BODY_TIMEOUT_S": "7", "KEEPALIVE_TIMEOUT_S": "9",
                           "MAX_CONNECTIONS": "50"})
    assert (s.header_timeout_s, s.body_timeout_s, s.keepalive_timeout_s, s.max_connections) == (5, 7, 9, 50)
    assert any("MAX_CONNECTIONS" in p for p in Settings.from_env({"MAX_CONNECTIONS": "0"}).problems())


async def test_a_second_request_on_a_kept_alive_connection_that_stalls_is_closed_after_the_first_answer(
    start: Any,
) -> None:
    port = await start(header_timeout_s=1, keepalive_timeout_s=60)
    answer = await until_closed(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\nGET /healthz HTTP/1.1\r\nHost: ")
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.count(b"HTTP/1.1 ") == 1


async def test_requests_with_bodies_on_one_connection_are_all_answered(start: Any) -> None:
    port = await start(header_timeout_s=5, body_timeout_s=5, keepalive_timeout_s=1)
    form = b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\n"
    answer = await until_closed(port, form + b"username=a" + b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.count(b"HTTP/1.1 ") == 2 and b"HTTP/1.1 200 " in answer


def test_the_guard_works_on_uvloops_transports_too() -> None:
    # `serve` runs on uvloop, whose transports are not asyncio.Transport subclasses.
    uvloop = pytest.importorskip("uvloop")

    async def scenario() -> tuple[bytes, bytes]:
        runner = web.AppRunner(web.Application(), keepalive_timeout=60)
        await runner.setup()
        settings = Settings(header_timeout_s=1, max_connections=10)
        server = await listen(runner, settings, host="127.0.0.1", port=0)
        port = int(server.sockets[0].getsockname()[1])
        try:
            answered = await until_closed(port, b"GET /none HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            stalled = await until_closed(port, b"GET /none HTTP/1.1\r\nHost: x")
        finally:
            server.close()
            await runner.cleanup()
        return answered, stalled

    answered, stalled = uvloop.run(scenario())
    assert answered.startswith(b"HTTP/1.1 404 ") and stalled == b""
