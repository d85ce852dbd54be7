"""Bounded connections for `webapp serve`: a cap per process, and deadlines for a request's head and body.

aiohttp closes idle keep-alive connections itself (keepalive_timeout) but waits forever for a head or a
body that arrives one byte a minute (slowloris). `Guarded` wraps aiohttp's protocol: a connection past
the cap is closed at once; one whose request head (up to the blank line) is not complete within
`header_timeout_s` (of the connection's start, or of a later request's first byte), or whose declared
body (Content-Length) is not complete within `body_timeout_s` of its head, is closed. A chunked body's
end is left to aiohttp: past it only the keep-alive timeout applies to that connection.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast

_HEAD_END = b"\r\n\r\n"
_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d{1,12})[ \t]*\r\n", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r]*chunked", re.IGNORECASE)
_MAX_HEAD = 64 * 1024  # past this aiohttp refuses the head itself


@dataclass
class Limits:
    """Deadlines (seconds) and the cap on open connections of one process."""

    header_timeout_s: float
    body_timeout_s: float
    max_connections: int
    open: int = field(default=0, compare=False)


class Guarded(asyncio.Protocol):
    """aiohttp's request handler behind the deadlines and the cap of `limits`."""

    def __init__(self, inner: Any, limits: Limits) -> None:
        self._inner, self._limits = inner, limits
        self._transport: asyncio.Transport | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._deadline: float | None = None  # loop time at which the connection is closed, if armed
        self._head = b""  # the current request's head so far
        self._body_left = 0  # bytes of the current request's declared body still to come
        self._blind = False  # a chunked body: its end is aiohttp's to find; only keep-alive applies then
        self._counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Refuse past the cap; else hand over to aiohttp and start the first head's deadline."""
        # uvloop's transports are not asyncio.Transport subclasses, but have the same methods.
        self._transport = cast(asyncio.Transport, transport)
        if self._limits.open >= self._limits.max_connections:
            self._transport.abort()
            return
        self._limits.open += 1
        self._counted = True
        self._inner.connection_made(transport)
        self._arm(self._limits.header_timeout_s)

    def data_received(self, data: bytes) -> None:
        """Follow heads and declared bodies as they go by, then pass the bytes on."""
        if not self._blind:
            self._watch(data)
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        """As aiohttp does."""
        return self._inner.eof_received() if self._counted else None

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the connection (and its deadline)."""
        self._stop_timer()
        if self._counted:
            self._counted = False
            self._limits.open -= 1
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        """As aiohttp does."""
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        """As aiohttp does."""
        self._inner.resume_writing()

    def _watch(self, data: bytes) -> None:
        while data and not self._blind:
            if self._body_left:
                taken = min(len(data), self._body_left)
                self._body_left -= taken
                data = data[taken:]
                if not self._body_left:
                    self._disarm()  # the request is in; an idle connection is aiohttp's keep-alive's
                continue
            if not self._head and self._deadline is None:
                self._arm(self._limits.header_timeout_s)  # the first byte of a next request's head
            data = self._take_head(data)

    def _take_head(self, data: bytes) -> bytes:
        """Add `data` to the head; once it is whole, start its body's deadline. Returns the bytes after it."""
        searched_from = max(0, len(self._head) - 3)
        self._head += data
        end = self._head.find(_HEAD_END, searched_from)
        if end < 0:
            if len(self._head) > _MAX_HEAD:
                self._blind = True  # aiohttp answers 400 and closes
                self._disarm()
            return b""
        head, rest = self._head[: end + 2], self._head[end + len(_HEAD_END) :]
        self._head = b""
        self._disarm()
        if _CHUNKED.search(head):
            self._blind = True
            return b""
        length = _LENGTH.search(head)
        self._body_left = int(length.group(1)) if length else 0
        if self._body_left:
            self._arm(self._limits.body_timeout_s)
        return rest

    # Deadlines are lazy: arming sets a time and disarming clears it, and one timer per connection checks
    # when it fires, re-arming itself if the deadline moved later. A keep-alive connection's requests
    # then cost no timer handle each (a call_later and a cancel per request were a few percent of a
    # small JSON answer); a timer is replaced only when a deadline comes earlier than it.

    def _arm(self, seconds: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = self._deadline = loop.time() + seconds
        if self._timer is not None and deadline < self._timer.when():
            self._timer.cancel()
            self._timer = None
        if self._timer is None:
            self._timer = loop.call_at(deadline, self._check)

    def _disarm(self) -> None:
        self._deadline = None  # a pending timer finds nothing due

    def _stop_timer(self) -> None:
        self._deadline = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _check(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None:
            return
        loop = asyncio.get_running_loop()
        if loop.time() < deadline:
            self._timer = loop.call_at(deadline, self._check)
            return
        self._deadline = None
        if self._transport is not None:
            self._transport.close()


def guarded_factory(make: Callable[[], Any], limits: Limits) -> Callable[[], Guarded]:
    """A protocol factory for loop.create_server: aiohttp's handler, guarded."""
    return lambda: Guarded(make(), limits)
