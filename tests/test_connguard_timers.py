"""Guarded's lazy deadlines: a kept-alive connection's requests share one timer, and a stall is still closed."""

from __future__ import annotations

import asyncio
from typing import Any

from webapp.connguard import Guarded, Limits

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: site\r\n\r\n"


class Received(asyncio.Protocol):
    """Stands where aiohttp's handler does: keeps what it is given."""

    def __init__(self) -> None:
        self.data = b""

    def data_received(self, data: bytes) -> None:
        self.data += data


class Transport:
    """What Guarded calls on its transport; close() is an event a test can wait on."""

    def __init__(self) -> None:
        self.closed = asyncio.Event()

    def close(self) -> None:
        self.closed.set()

    def abort(self) -> None:
        self.closed.set()


def _guard(header_timeout_s: float) -> tuple[Guarded, Received, Transport]:
    inner, transport = Received(), Transport()
    guard = Guarded(inner, Limits(header_timeout_s=header_timeout_s, body_timeout_s=60.0, max_connections=10))
    guard.connection_made(transport)  # type: ignore[arg-type]
    return guard, inner, transport


async def test_a_hundred_requests_on_one_connection_use_the_timer_of_its_first() -> None:
    guard, inner, transport = _guard(30.0)
    first: Any = guard._timer
    assert first is not None

    for _ in range(100):
        guard.data_received(REQUEST[:5])  # a head in two pieces: armed at its first byte, disarmed when whole
        guard.data_received(REQUEST[5:])

    assert guard._timer is first and not first.cancelled()
    assert inner.data == REQUEST * 100 and not transport.closed.is_set()
    guard.connection_lost(None)
    assert first.cancelled()


async def test_a_stalled_head_after_many_requests_is_still_closed_at_its_deadline() -> None:
    guard, _inner, transport = _guard(0.05)
    for _ in range(20):
        guard.data_received(REQUEST)

    guard.data_received(b"GET /slow")  # and nothing more

    await transport.closed.wait()  # the timer re-armed itself for the moved deadline, then closed
    guard.connection_lost(None)


async def test_an_earlier_deadline_replaces_a_later_timer() -> None:
    guard, _inner, transport = _guard(60.0)
    guard.data_received(REQUEST)  # served; the connection's timer stays set for 60 s after its start
    long_timer: Any = guard._timer
    guard._limits.header_timeout_s = 0.05  # the same Limits, now with a shorter head deadline

    guard.data_received(b"GET /slow")  # a next head: its deadline comes before the 60 s timer

    assert long_timer.cancelled() and guard._timer is not long_timer
    await transport.closed.wait()
    guard.connection_lost(None)
