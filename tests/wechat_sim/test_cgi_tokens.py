"""App access tokens: /cgi-bin/token (5-minute overlap) and /cgi-bin/stable_token (stable, rotation, force limits)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.wechat_sim.conftest import Sim, cgi, mp_token
from webapp.wechat_sim import fixture as fx

CREDS = {"grant_type": "client_credential", "appid": fx.MP_APPID, "secret": fx.MP_SECRET}


async def stable(sim: Sim, **extra: Any) -> dict[str, Any]:
    """POST /cgi-bin/stable_token."""
    return await cgi(sim, "POST", "stable_token", body=CREDS | extra)


async def user_info_errcode(sim: Sim, token: str) -> int:
    """Use a token on /cgi-bin/user/info and return the errcode (0 when it worked)."""
    openid = sim.state.fixture.openid(sim.state.fixture.official_account(), 1)  # type: ignore[arg-type]
    body = await cgi(sim, "GET", "user/info", {"access_token": token, "openid": openid})
    return int(body.get("errcode", 0))


async def test_token_shape_and_content_type(sim: Sim) -> None:
    resp = await sim.client.get("/cgi-bin/token", params=CREDS)
    body = await resp.json(content_type=None)
    assert resp.status == 200 and resp.headers["Content-Type"] == "application/json; encoding=utf-8"
    assert set(body) == {"access_token", "expires_in"} and body["expires_in"] == 7200
    assert len(body["access_token"]) > 100


async def test_new_token_each_call_old_one_valid_five_more_minutes(sim: Sim) -> None:
    first = await mp_token(sim)
    second = await mp_token(sim)
    assert first != second
    assert await user_info_errcode(sim, first) == 0
    await sim.advance(299)
    assert await user_info_errcode(sim, first) == 0
    await sim.advance(1)
    assert await user_info_errcode(sim, first) == 40001
    assert await user_info_errcode(sim, second) == 0
    third = await mp_token(sim)
    assert await user_info_errcode(sim, first) == 40001 and await user_info_errcode(sim, third) == 0


async def test_token_older_than_the_previous_one_dies_at_once(sim: Sim) -> None:
    first = await mp_token(sim)
    await mp_token(sim)
    await mp_token(sim)
    body = await cgi(sim, "GET", "user/info", {"access_token": first, "openid": "x"})
    assert body["errcode"] == 40001 and "getStableAccessToken" in body["errmsg"] and ", rid: " in body["errmsg"]


async def test_token_expires_after_7200s_with_42001(sim: Sim) -> None:
    token = await mp_token(sim)
    await sim.advance(7200)
    assert await user_info_errcode(sim, token) == 42001


@pytest.mark.parametrize(("override", "errcode"), [
    ({"appid": ""}, 41002), ({"secret": ""}, 41004), ({"grant_type": "authorization_code"}, 40002),
    ({"appid": "wx0000000000000000"}, 40013), ({"secret": "0" * 32}, 40001), ({"secret": "not-hex"}, 40125),
])
async def test_token_errcodes(sim: Sim, override: dict[str, str], errcode: int) -> None:
    body = await cgi(sim, "GET", "token", CREDS | override)
    assert body["errcode"] == errcode and ", rid: " in body["errmsg"]


async def test_wrong_methods(sim: Sim) -> None:
    assert (await cgi(sim, "POST", "token", CREDS))["errcode"] == 43001
    assert (await cgi(sim, "GET", "stable_token", CREDS))["errcode"] == 43002


async def test_stable_token_is_the_same_with_remaining_life(sim: Sim) -> None:
    first = await stable(sim)
    assert first["expires_in"] == 7200
    await sim.advance(1000)
    again = await stable(sim)
    assert again == {"access_token": first["access_token"], "expires_in": 6200}


async def test_stable_and_plain_tokens_are_isolated(sim: Sim) -> None:
    stable_token = (await stable(sim))["access_token"]
    for _ in range(3):
        await mp_token(sim)
    assert await user_info_errcode(sim, stable_token) == 0
    assert (await stable(sim))["access_token"] == stable_token


async def test_stable_token_rotates_five_minutes_before_expiry_both_valid(sim: Sim) -> None:
    first = (await stable(sim))["access_token"]
    await sim.advance(7200 - 301)
    assert (await stable(sim))["access_token"] == first
    await sim.advance(1)
    rotated = await stable(sim)
    assert rotated["access_token"] != first and rotated["expires_in"] == 7200
    assert await user_info_errcode(sim, first) == 0
    await sim.advance(300)
    assert await user_info_errcode(sim, first) == 42001
    assert await user_info_errcode(sim, rotated["access_token"]) == 0


async def test_force_refresh_invalidates_the_previous_token(sim: Sim) -> None:
    first = (await stable(sim))["access_token"]
    forced = (await stable(sim, force_refresh=True))["access_token"]
    assert forced != first
    assert await user_info_errcode(sim, first) == 40001 and await user_info_errcode(sim, forced) == 0


async def test_force_refresh_within_30s_does_not_refresh(sim: Sim) -> None:
    forced = (await stable(sim, force_refresh=True))["access_token"]
    await sim.advance(29)
    assert (await stable(sim, force_refresh=True))["access_token"] == forced
    await sim.advance(1)
    assert (await stable(sim, force_refresh=True))["access_token"] != forced


async def test_force_refresh_at_most_20_a_day_then_45009(sim: Sim) -> None:
    for _ in range(20):
        assert "access_token" in await stable(sim, force_refresh=True)
        await sim.advance(30)
    body = await stable(sim, force_refresh=True)
    assert body["errcode"] == 45009 and body["errmsg"].startswith("reach max api daily quota limit")
    assert "access_token" in await stable(sim)
    await sim.advance(86400)
    assert "access_token" in await stable(sim, force_refresh=True)


@pytest.mark.parametrize(("body", "errcode"), [
    ("grant_type=client_credential", 47001), ("[1]", 47001), ('{"force_refresh": "yes"}', 47001),
    ('{"grant_type": "client_credential", "appid": "wx8e2b7d4a1c9f3065"}', 41004),
])
async def test_stable_token_wants_a_json_body(sim: Sim, body: str, errcode: int) -> None:
    resp = await sim.client.post("/cgi-bin/stable_token", data=body,
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert (await resp.json(content_type=None))["errcode"] == errcode


async def test_website_app_token_cannot_read_user_info(sim: Sim) -> None:
    token = await mp_token(sim, fx.WEBSITE_APPID, fx.WEBSITE_SECRET)
    assert await user_info_errcode(sim, token) == 48001
