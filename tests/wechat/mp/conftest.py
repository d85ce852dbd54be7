"""Fixtures for the official account's server side: the site with message push configured, and pushers."""

# ruff: noqa: F811  (fixtures imported from the harness are parameters of the fixtures below)

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.wechat.harness import World, pooled_world, sim_server, wechat_settings, world  # noqa: F401
from tests.wechat.mp.pushes import MP_AES_KEY, MP_TOKEN, Mode, Pusher
from webapp.app import create_app
from webapp.models import MpMessage, OAuthState, SecurityEvent, User, WeChatIdentity
from webapp.settings import Settings
from webapp.wechat_sim import fixture as sim_fixture


@pytest.fixture
def mp_settings(wechat_settings: Settings) -> Settings:
    """Both apps on the simulator, message push in safe mode (Token + EncodingAESKey), follow-login on."""
    return wechat_settings.with_(wechat_mp_token=MP_TOKEN, wechat_mp_aes_key=MP_AES_KEY, wechat_mp_follow_login=True)


async def _mp_world(aiohttp_client: Any, settings: Settings, sm: Any, clock: Any, sim: Any) -> AsyncIterator[World]:
    # Pushes are signed with the simulator's time and checked against the site's: start both at the same
    # instant (the harness's SIM_T0 is 2026-11-26T12:00Z, six days after the site's T0).
    clock.at = datetime.fromtimestamp(sim.state.now(), UTC)
    site = await aiohttp_client(create_app(settings, sessionmaker=sm, clock=clock))
    w = World(site, sim, settings, sm, clock)
    yield w
    await w.close()


@pytest.fixture
async def mp_world(aiohttp_client, mp_settings, sessionmaker, clock, sim_server) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    """The site with message push (safe mode) on the test's rolled-back transaction, and the simulator."""
    async for w in _mp_world(aiohttp_client, mp_settings, sessionmaker, clock, sim_server):
        yield w


@pytest.fixture
async def plain_world(aiohttp_client, mp_settings, sessionmaker, clock, sim_server) -> AsyncIterator[World]:  # type: ignore[no-untyped-def]
    """The site with message push in plaintext mode (a Token, no EncodingAESKey)."""
    async for w in _mp_world(aiohttp_client, mp_settings.with_(wechat_mp_aes_key=""), sessionmaker, clock, sim_server):
        yield w


PusherFor = Callable[..., Pusher]
MODES: list[Mode] = ["plaintext", "compatible", "safe"]


@pytest.fixture(params=MODES)
async def each_mode(
    request, aiohttp_client, mp_settings, sessionmaker, clock, sim_server
) -> AsyncIterator[tuple[World, Pusher]]:  # type: ignore[no-untyped-def]
    """The site configured for one push mode, with a pusher sending in that mode (wechatpy-sealed)."""
    mode: Mode = request.param
    settings = mp_settings.with_(wechat_mp_aes_key="") if mode == "plaintext" else mp_settings
    async for w in _mp_world(aiohttp_client, settings, sessionmaker, clock, sim_server):
        yield w, Pusher(w.site, sim_fixture.MP_APPID, mode, int(w.clock().timestamp()))


@pytest.fixture
def pusher_for() -> PusherFor:
    """pusher_for(world, mode) → a Pusher whose timestamps follow the site's clock."""

    def make(w: World, mode: Mode = "safe", **kw: Any) -> Pusher:
        return Pusher(w.site, sim_fixture.MP_APPID, mode, int(w.clock().timestamp()), **kw)

    return make


async def stored(sm: Any) -> dict[str, int]:
    """Row counts of everything a push may write."""
    counts = {}
    async with sm() as s:
        for model in (MpMessage, OAuthState, SecurityEvent, User, WeChatIdentity):
            counts[model.__tablename__] = int(await s.scalar(select(func.count()).select_from(model)) or 0)
    return counts
