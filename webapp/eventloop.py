"""The event loop the long-running commands run on: uvloop where it is installed, else asyncio's own.

uvloop (libuv, from the authors of asyncpg) runs the loop and the socket transports in C. Measured with
benchmarks/ on the site and the refresh worker, it takes about a tenth off the CPU of a request and of a
QR login. EVENT_LOOP=asyncio goes back to asyncio's loop, e.g. to use its debug mode.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
EVENT_LOOPS = ("uvloop", "asyncio")


def run(main: Coroutine[Any, Any, T], *, loop: str = "uvloop") -> T:
    """asyncio.run(main) on uvloop's loop when `loop` is "uvloop" and uvloop is installed."""
    if loop == "uvloop":
        try:
            import uvloop
        except ImportError:  # not on this platform (Windows): asyncio's loop does the same work, slower
            pass
        else:
            return uvloop.run(main)
    return asyncio.run(main)
