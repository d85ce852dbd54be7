"""Odd but parseable WeChat answers on the callback: a clear page (never a 500) and nothing half-written.

Each case makes the simulator merge fields into its next successful answer (`{"path", "fields"}` fault),
then a person finishes a real QR login. Either the answer is refused (502, "an answer we cannot use",
not one row written) or the login succeeds with values that satisfy the boundary's invariants.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from tests.hardening.conftest import table_rows
from tests.wechat.harness import World
from webapp.models import User, WeChatIdentity
from webapp.wechat.client import ACCESS_TOKEN_PATH, USERINFO_PATH

ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
BOOKKEEPING = ("oauth_states", "rate_limits")  # the flow's own state and counter, there before the answer
REFUSED = "WeChat sent an answer we cannot use"

REFUSED_ANSWERS = [
    (ACCESS_TOKEN_PATH, {"openid": "o" * 65}),
    (ACCESS_TOKEN_PATH, {"openid": "oAbc\u0000def"}),
    (ACCESS_TOKEN_PATH, {"openid": "o\ud800abc"}),
    (ACCESS_TOKEN_PATH, {"openid": 12345}),
    (ACCESS_TOKEN_PATH, {"openid": None}),
    (ACCESS_TOKEN_PATH, {"openid": ["o1"]}),
    (ACCESS_TOKEN_PATH, {"unionid": "u" * 65}),
    (ACCESS_TOKEN_PATH, {"unionid": "u\u0000"}),
    (ACCESS_TOKEN_PATH, {"unionid": True}),
    (ACCESS_TOKEN_PATH, {"access_token": None}),
    (ACCESS_TOKEN_PATH, {"access_token": "x" * 600}),
    (ACCESS_TOKEN_PATH, {"access_token": "with space"}),
    (ACCESS_TOKEN_PATH, {"refresh_token": {"nested": 1}}),
    (ACCESS_TOKEN_PATH, {"refresh_token": "\u0000"}),
    (ACCESS_TOKEN_PATH, {"expires_in": None}),
    (ACCESS_TOKEN_PATH, {"expires_in": "soon"}),
    (ACCESS_TOKEN_PATH, {"expires_in": True}),
    (ACCESS_TOKEN_PATH, {"expires_in": [7200]}),
    (USERINFO_PATH, {"unionid": "o" + "Z" * 27}),  # the profile disagrees with the exchange about who this is
]
UNUSABLE_ANSWERS = [
    (ACCESS_TOKEN_PATH, {"errcode": "not a number"}, "could not reach WeChat"),
    (ACCESS_TOKEN_PATH, {"errcode": [0]}, "could not reach WeChat"),
    (ACCESS_TOKEN_PATH, {"errcode": 10**30, "errmsg": "\u0000\u202e" * 1000}, "went wrong at WeChat"),
]
ACCEPTED_ANSWERS = [
    (ACCESS_TOKEN_PATH, {"expires_in": 10**12}),
    (ACCESS_TOKEN_PATH, {"expires_in": -5}),
    (ACCESS_TOKEN_PATH, {"expires_in": 7200.5}),
    (ACCESS_TOKEN_PATH, {"expires_in": "7200"}),
    (ACCESS_TOKEN_PATH, {"scope": "snsapi_login," + "x" * 300}),
    (ACCESS_TOKEN_PATH, {"scope": 7}),
    (ACCESS_TOKEN_PATH, {"unionid": None}),
    (ACCESS_TOKEN_PATH, {"extra": {"deep": [1, {"x": None}]}, "__proto__": "x", "is_snapshotuser": 0}),
    (USERINFO_PATH, {"headimgurl": "https://x/\u0000.png"}),
    (USERINFO_PATH, {"headimgurl": "https://x/\ud800.png"}),
    (USERINFO_PATH, {"headimgurl": "javascript:alert(1)"}),
    (USERINFO_PATH, {"headimgurl": 42}),
    (USERINFO_PATH, {"headimgurl": "http://xn--zz.qlogo.cn/x/0"}),  # a broken punycode label: dropped
    (USERINFO_PATH, {"headimgurl": "http://wx.qlogo.cn:99999/x/0"}),
    (USERINFO_PATH, {"nickname": "\u0000\u202eEve\u200b" * 2500}),
    (USERINFO_PATH, {"nickname": {"first": "Eve"}}),
    (USERINFO_PATH, {"nickname": None, "headimgurl": None}),
    (USERINFO_PATH, {"openid": "o" + "Q" * 27}),  # a profile of someone else: ignored, the login goes on
    (USERINFO_PATH, {"privilege": "not a list", "sex": "?", "country": "\u0000" * 100}),
]


async def login_with(world: World, path: str, fields: dict[str, Any]) -> tuple[int, str]:
    """A QR login whose answer on `path` carries `fields`; the status and text of the page it ends on."""
    browser = world.browser()
    callback = await browser.scan_qr(await browser.start("/auth/wechat/start?next=/settings"), 1)
    await world.sim.fault(path, fields=fields)
    page = await browser.follow(callback)
    text = await page.text()
    assert "Traceback" not in text
    return page.status, text


async def written(world: World) -> dict[str, int]:
    return {t: n for t, n in (await table_rows(world.sm)).items() if n and t not in BOOKKEEPING}


def printable(value: str) -> bool:
    return not any(unicodedata.category(ch) in ("Cc", "Cf", "Cs") for ch in value)


@pytest.mark.parametrize(("path", "fields"), REFUSED_ANSWERS, ids=lambda v: repr(v)[:40])
async def test_an_answer_that_cannot_be_made_safe_is_a_clear_page_and_writes_nothing(
    world: World, path: str, fields: dict[str, Any]
) -> None:
    status, text = await login_with(world, path, fields)
    assert (status, REFUSED in text) == (502, True)
    assert await written(world) == {}


@pytest.mark.parametrize(("path", "fields", "words"), UNUSABLE_ANSWERS, ids=lambda v: repr(v)[:40])
async def test_an_answer_with_a_broken_errcode_is_a_wechat_failure_page_and_writes_nothing(
    world: World, path: str, fields: dict[str, Any], words: str
) -> None:
    status, text = await login_with(world, path, fields)
    assert (status, words in text) == (502, True)
    assert await written(world) == {}


@pytest.mark.parametrize(("path", "fields"), ACCEPTED_ANSWERS, ids=lambda v: repr(v)[:40])
async def test_an_odd_answer_that_can_be_made_safe_logs_in_with_clean_values(
    world: World, path: str, fields: dict[str, Any]
) -> None:
    status, _text = await login_with(world, path, fields)
    assert status == 200
    async with world.sm() as s:
        [user] = (await s.scalars(select(User))).all()
        [identity] = (await s.scalars(select(WeChatIdentity))).all()
    assert ID_RE.fullmatch(identity.openid) and (identity.unionid is None or ID_RE.fullmatch(identity.unionid))
    assert len(identity.nickname) <= 100 and printable(identity.nickname) and printable(user.display_name)
    assert identity.avatar_url == "" or re.fullmatch(r"https?://[\x21-\x7e]+", identity.avatar_url)
    assert user.avatar_source == identity.avatar_url
    assert len(identity.scope) <= 64 and set(identity.scope.split(",")) <= {"", "snsapi_login", "snsapi_userinfo"}
    assert identity.access_expires_at is not None
    assert world.clock() <= identity.access_expires_at <= world.clock() + timedelta(days=1)


async def test_a_snapshot_flag_in_an_exchange_stores_nobody(world: World) -> None:
    status, _text = await login_with(world, ACCESS_TOKEN_PATH, {"is_snapshotuser": 1})
    assert status < 500
    assert await written(world) == {}
