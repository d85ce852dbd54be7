"""The commands' event loop: uvloop by default where it is installed, asyncio's own on request."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import uvloop

from tests.test_settings import GOOD_ENV
from webapp import eventloop
from webapp.settings import Settings


async def running_loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_uvloop_runs_the_coroutine_on_its_loop() -> None:
    assert eventloop.run(running_loop_type(), loop="uvloop") is uvloop.Loop


def test_asyncio_runs_it_on_asyncios_own() -> None:
    loop_type = eventloop.run(running_loop_type(), loop="asyncio")
    assert loop_type is not uvloop.Loop and issubclass(loop_type, asyncio.BaseEventLoop)


def test_the_setting_defaults_to_uvloop_and_refuses_anything_else() -> None:
    assert Settings.from_env(GOOD_ENV).event_loop == "uvloop"
    assert Settings.from_env({**GOOD_ENV, "EVENT_LOOP": "AsyncIO"}).event_loop == "asyncio"
    assert Settings.from_env({**GOOD_ENV, "EVENT_LOOP": "trio"}).problems() == [
        "EVENT_LOOP must be uvloop or asyncio (got 'trio')."
    ]


def test_without_uvloop_installed_asyncio_does_the_work() -> None:
    # A fresh interpreter where importing uvloop fails, as on Windows.
    code = (
        "import sys, asyncio; sys.modules['uvloop'] = None\n"
        "from webapp import eventloop\n"
        "async def kind(): return type(asyncio.get_running_loop()).__module__\n"
        "print(eventloop.run(kind(), loop='uvloop'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip().startswith("asyncio")
