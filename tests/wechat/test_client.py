"""The WeChat client against the simulator over real HTTP: success, every errcode, retries, faults."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from webapp.wechat import errors
from webapp.wechat.client import ACCESS_TOKEN_PATH, AUTH_PATH, REFRESH_TOKEN_PATH, USERINFO_PATH, WeChatClient
from webapp.wechat.errors import (
    AccessTokenExpired,
    CodeAlreadyUsed,
    InvalidCode,
    InvalidOpenid,
    MalformedResponse,
    Misconfigured,
    RateLimited,
    ReauthRequired,
    RefreshTokenExpired,
    RefreshTokenInvalid,
    ScopeUnauthorized,
    WeChatAPIError,
    WeChatBusy,
    WeChatError,
    WeChatUnavailable,
)
from webapp.wechat.schemas import OAuthToken, WeChatApp, WeChatProfile

from .client_fixtures import *
from .client_fixtures import MP, SITE, T0, UNBOUND, RecordingSleep, SimRef

START = datetime.fromtimestamp(T0, UTC)
TWO_HOURS = timedelta(seconds=7200)
THIRTY_DAYS = 30 * 24 * 3600


# --- successful exchanges -------------------------------------------------------------------


async def test_website_exchange_returns_tokens_and_unionid(sim: SimRef, wechat_client: WeChatClient) -> None:
    token = await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    assert token.openid and token.access_token and token.refresh_token
    assert token.unionid
    assert token.scope == "snsapi_login"
    assert token.is_snapshot_user is False
    assert token.access_expires_at == START + TWO_HOURS


async def test_official_account_base_exchange_has_no_unionid(sim: SimRef, wechat_client: WeChatClient) -> None:
    token = await wechat_client.exchange_code(MP, await sim.code(MP, 1, "snsapi_base"))
    assert token.scope == "snsapi_base"
    assert token.unionid is None


async def test_official_account_userinfo_exchange_has_the_same_unionid(
    sim: SimRef, wechat_client: WeChatClient
) -> None:
    mp_token = await wechat_client.exchange_code(MP, await sim.code(MP, 1, "snsapi_userinfo"))
    site_token = await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    assert mp_token.scope == "snsapi_userinfo"
    assert mp_token.unionid == site_token.unionid
    assert mp_token.openid != site_token.openid


async def test_unbound_app_exchange_has_no_unionid(sim: SimRef, wechat_client: WeChatClient) -> None:
    token = await wechat_client.exchange_code(UNBOUND, await sim.code(UNBOUND, 1, "snsapi_login"))
    assert token.unionid is None
    profile = await wechat_client.user_info(token.access_token, token.openid)
    assert profile.unionid is None


async def test_user_info_parses_utf8_emoji_from_a_text_plain_body(sim: SimRef, wechat_client: WeChatClient) -> None:
    token = await wechat_client.exchange_code(SITE, await sim.code(SITE, 2, "snsapi_login"))
    async with sim.http.get(
        f"{sim.url}{USERINFO_PATH}", params={"access_token": token.access_token, "openid": token.openid}
    ) as raw:
        # The point of the test: WeChat gives no charset, so nothing but our own decoding saves the emoji.
        assert raw.headers["Content-Type"].startswith("text/plain")
        assert "charset" not in raw.headers["Content-Type"]
    profile = await wechat_client.user_info(token.access_token, token.openid)
    assert profile.nickname == "李娜🌸"
    assert profile.openid == token.openid
    assert profile.unionid == token.unionid
    assert profile.avatar_url.startswith("http")


async def test_check_access_token_accepts_a_fresh_token(sim: SimRef, wechat_client: WeChatClient) -> None:
    token = await wechat_client.exchange_code(SITE, await sim.code(SITE, 3, "snsapi_login"))
    assert await wechat_client.check_access_token(token.access_token, token.openid) is True


# --- refresh semantics ----------------------------------------------------------------------


async def test_refresh_while_valid_returns_same_access_token_with_new_expiry(
    sim: SimRef, wechat_client: WeChatClient
) -> None:
    first = await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    await sim.advance(3600)
    again = await wechat_client.refresh(SITE, first.refresh_token)
    assert again.access_token == first.access_token
    assert again.openid == first.openid
    assert again.access_expires_at == START + timedelta(seconds=3600) + TWO_HOURS


async def test_refresh_after_expiry_returns_a_new_working_access_token(
    sim: SimRef, wechat_client: WeChatClient
) -> None:
    first = await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    await sim.advance(7201)
    again = await wechat_client.refresh(SITE, first.refresh_token)
    assert again.access_token != first.access_token
    assert await wechat_client.check_access_token(again.access_token, again.openid) is True


async def test_refresh_does_not_send_the_secret(sim: SimRef, wechat_client: WeChatClient) -> None:
    first = await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    await wechat_client.refresh(SITE, first.refresh_token)
    [call] = await sim.calls(REFRESH_TOKEN_PATH)
    assert set(call["query"]) == {"appid", "grant_type", "refresh_token"}


# --- every errcode → its exception ----------------------------------------------------------


async def test_unknown_code_is_invalid_code(wechat_client: WeChatClient) -> None:
    with pytest.raises(InvalidCode) as info:
        await wechat_client.exchange_code(SITE, "0" * 32)
    assert info.value.errcode == errors.INVALID_CODE
    assert info.value.retryable is False


async def test_reused_code_is_code_already_used(sim: SimRef, wechat_client: WeChatClient) -> None:
    code = await sim.code(SITE, 1, "snsapi_login")
    await wechat_client.exchange_code(SITE, code)
    with pytest.raises(CodeAlreadyUsed) as info:
        await wechat_client.exchange_code(SITE, code)
    assert info.value.errcode == errors.CODE_BEEN_USED


@pytest.mark.parametrize(("app", "scope", "ttl"), [(SITE, "snsapi_login", 600), (MP, "snsapi_base", 300)])
async def test_expired_code_is_invalid_code(
    sim: SimRef, wechat_client: WeChatClient, app: WeChatApp, scope: str, ttl: int
) -> None:
    code = await sim.code(app, 1, scope)
    await sim.advance(ttl + 1)
    with pytest.raises(InvalidCode):
        await wechat_client.exchange_code(app, code)


async def test_code_from_another_app_is_invalid_code(sim: SimRef, wechat_client: WeChatClient) -> None:
    code = await sim.code(MP, 1, "snsapi_base")
    with pytest.raises(InvalidCode):
        await wechat_client.exchange_code(SITE, code)


async def test_wrong_secret_is_misconfigured(sim: SimRef, wechat_client: WeChatClient) -> None:
    code = await sim.code(SITE, 1, "snsapi_login")
    wrong = WeChatApp(appid=SITE.appid, secret="0" * 32, kind="website")
    with pytest.raises(Misconfigured) as info:
        await wechat_client.exchange_code(wrong, code)
    assert info.value.errcode == errors.INVALID_APPSECRET


async def test_unknown_appid_is_misconfigured(wechat_client: WeChatClient) -> None:
    stranger = WeChatApp(appid="wx0000000000000000", secret="0" * 32, kind="website")
    with pytest.raises(Misconfigured) as info:
        await wechat_client.exchange_code(stranger, "0" * 32)
    assert info.value.errcode == errors.INVALID_APPID


async def test_expired_access_token(sim: SimRef, wechat_client: WeChatClient) -> None:
    token = await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    await sim.advance(7201)
    with pytest.raises(AccessTokenExpired) as info:
        await wechat_client.user_info(token.access_token, token.openid)
    assert info.value.errcode == errors.EXPIRED_ACCESS_TOKEN
    assert await wechat_client.check_access_token(token.access_token, token.openid) is False


async def test_refresh_token_expires_after_thirty_days(sim: SimRef, wechat_client: WeChatClient) -> None:
    token = await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    await sim.advance(THIRTY_DAYS + 1)
    with pytest.raises(RefreshTokenExpired) as info:
        await wechat_client.refresh(SITE, token.refresh_token)
    assert isinstance(info.value, ReauthRequired)
    assert info.value.errcode == errors.EXPIRED_REFRESH_TOKEN


async def test_revoked_refresh_token_is_invalid(sim: SimRef, wechat_client: WeChatClient) -> None:
    token = await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    await sim.revoke(SITE, 1)
    with pytest.raises(RefreshTokenInvalid) as info:
        await wechat_client.refresh(SITE, token.refresh_token)
    assert isinstance(info.value, ReauthRequired)
    assert info.value.errcode == errors.INVALID_REFRESH_TOKEN


async def test_base_token_cannot_read_the_profile(sim: SimRef, wechat_client: WeChatClient) -> None:
    token = await wechat_client.exchange_code(MP, await sim.code(MP, 1, "snsapi_base"))
    with pytest.raises(ScopeUnauthorized) as info:
        await wechat_client.user_info(token.access_token, token.openid)
    assert info.value.errcode == errors.API_UNAUTHORIZED
    assert await wechat_client.check_access_token(token.access_token, token.openid) is True


async def test_someone_elses_openid_is_invalid_openid(sim: SimRef, wechat_client: WeChatClient) -> None:
    mine = await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    theirs = await wechat_client.exchange_code(SITE, await sim.code(SITE, 2, "snsapi_login"))
    with pytest.raises(InvalidOpenid) as info:
        await wechat_client.user_info(mine.access_token, theirs.openid)
    assert info.value.errcode == errors.INVALID_OPENID
    assert await wechat_client.check_access_token(mine.access_token, theirs.openid) is False


async def test_unknown_access_token_fails_the_check(sim: SimRef, wechat_client: WeChatClient) -> None:
    token = await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    assert await wechat_client.check_access_token("x" * 90, token.openid) is False


async def test_unexpected_errcode_on_check_is_raised(sim: SimRef, wechat_client: WeChatClient) -> None:
    await sim.fault(AUTH_PATH, errcode=-1, times=1)
    with pytest.raises(WeChatBusy):
        await wechat_client.check_access_token("x" * 90, "o" * 28)


# --- retries --------------------------------------------------------------------------------


async def test_refresh_retries_busy_then_succeeds(
    sim: SimRef, wechat_client: WeChatClient, sleeps: RecordingSleep
) -> None:
    token = await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    await sim.fault(REFRESH_TOKEN_PATH, errcode=-1, times=2)
    again = await wechat_client.refresh(SITE, token.refresh_token)
    assert again.access_token == token.access_token
    assert sleeps.delays == [0.5, 1.0]
    assert len(await sim.calls(REFRESH_TOKEN_PATH)) == 3


async def test_user_info_retries_rate_limit_then_succeeds(
    sim: SimRef, wechat_client: WeChatClient, sleeps: RecordingSleep
) -> None:
    token = await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    await sim.fault(USERINFO_PATH, errcode=errors.REACH_MINUTE_QUOTA, times=1)
    profile = await wechat_client.user_info(token.access_token, token.openid)
    assert profile.nickname == "张伟"
    assert sleeps.delays == [0.5]


async def test_retries_give_up_after_the_last_delay(
    sim: SimRef, wechat_client: WeChatClient, sleeps: RecordingSleep
) -> None:
    token = await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    await sim.fault(USERINFO_PATH, errcode=errors.REACH_MINUTE_QUOTA, times=10)
    with pytest.raises(RateLimited):
        await wechat_client.user_info(token.access_token, token.openid)
    assert sleeps.delays == [0.5, 1.0, 2.0]
    assert len(await sim.calls(USERINFO_PATH)) == 4


async def test_exchange_is_never_retried(sim: SimRef, wechat_client: WeChatClient, sleeps: RecordingSleep) -> None:
    code = await sim.code(SITE, 1, "snsapi_login")
    await sim.fault(ACCESS_TOKEN_PATH, errcode=-1, times=1)
    with pytest.raises(WeChatBusy) as info:
        await wechat_client.exchange_code(SITE, code)
    assert info.value.retryable is True
    assert sleeps.delays == []
    assert len(await sim.calls(ACCESS_TOKEN_PATH)) == 1


async def test_non_retryable_errors_are_not_retried(
    sim: SimRef, wechat_client: WeChatClient, sleeps: RecordingSleep
) -> None:
    token = await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    await sim.revoke(SITE, 1)
    with pytest.raises(RefreshTokenInvalid):
        await wechat_client.refresh(SITE, token.refresh_token)
    assert sleeps.delays == []


# --- transport faults → WeChatUnavailable ---------------------------------------------------


async def test_slow_answer_past_the_timeout_is_unavailable(
    sim: SimRef, make_client: Callable[..., WeChatClient]
) -> None:
    impatient = make_client(timeout=aiohttp.ClientTimeout(total=0.05))
    await sim.fault(ACCESS_TOKEN_PATH, delay_s=12)
    with pytest.raises(WeChatUnavailable) as info:
        await impatient.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    assert info.value.errcode is None
    assert info.value.retryable is True
    assert isinstance(info.value.__cause__, TimeoutError)


async def test_http_5xx_is_unavailable(sim: SimRef, wechat_client: WeChatClient) -> None:
    await sim.fault(ACCESS_TOKEN_PATH, http_status=502)
    with pytest.raises(WeChatUnavailable, match="HTTP 502"):
        await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))


async def test_garbage_body_is_unavailable(sim: SimRef, wechat_client: WeChatClient) -> None:
    await sim.fault(ACCESS_TOKEN_PATH, body="not json")
    with pytest.raises(WeChatUnavailable) as info:
        await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    assert isinstance(info.value.__cause__, ValueError)


@pytest.mark.parametrize("body", ['["a", "list"]', '"a string"', "", "<html>502 Bad Gateway</html>"])
async def test_body_that_is_not_a_json_object_is_unavailable(sim: SimRef, wechat_client: WeChatClient, body: str) -> None:
    await sim.fault(USERINFO_PATH, body=body)
    with pytest.raises(WeChatUnavailable):
        await wechat_client.user_info("x" * 90, "o" * 28)


async def test_dropped_connection_is_unavailable(sim: SimRef, wechat_client: WeChatClient) -> None:
    # Two drops: aiohttp itself resends a GET once when the connection drops (see below).
    await sim.fault(ACCESS_TOKEN_PATH, drop=True, times=2)
    with pytest.raises(WeChatUnavailable) as info:
        await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    assert isinstance(info.value.__cause__, aiohttp.ClientError)
    assert len(await sim.calls(ACCESS_TOKEN_PATH)) == 2


async def test_aiohttp_resends_a_get_once_after_a_dropped_connection(
    sim: SimRef, wechat_client: WeChatClient, sleeps: RecordingSleep
) -> None:
    # Pinned because it is invisible: aiohttp (>=3.10) resends idempotent requests once on
    # ServerDisconnectedError, meant for stale keep-alive connections. For the code exchange the
    # worst case is 40163 if WeChat had processed the first one, which callers treat like any
    # dead code (restart login); our own code never retries it.
    await sim.fault(ACCESS_TOKEN_PATH, drop=True, times=1)
    token = await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    assert token.access_token
    assert sleeps.delays == []
    assert len(await sim.calls(ACCESS_TOKEN_PATH)) == 2


async def test_nothing_listening_is_unavailable(http: aiohttp.ClientSession, unused_tcp_port: int) -> None:
    client = WeChatClient(http, api_base=f"http://127.0.0.1:{unused_tcp_port}")
    with pytest.raises(WeChatUnavailable):
        await client.user_info("x" * 90, "o" * 28)


async def test_ok_answer_without_access_token_is_malformed(sim: SimRef, wechat_client: WeChatClient) -> None:
    await sim.fault(ACCESS_TOKEN_PATH, body='{"errcode": 0, "openid": "o123", "expires_in": 7200}')
    with pytest.raises(MalformedResponse) as info:
        await wechat_client.exchange_code(SITE, await sim.code(SITE, 1, "snsapi_login"))
    assert isinstance(info.value, WeChatUnavailable)


async def test_control_characters_in_nickname_are_tolerated_and_cleaned(sim: SimRef, wechat_client: WeChatClient) -> None:
    await sim.fault(USERINFO_PATH, body='{"openid": "o1", "nickname": "a\tb\x01c", "headimgurl": ""}')
    profile = await wechat_client.user_info("x" * 90, "o1")
    assert profile == WeChatProfile(openid="o1", nickname="a bc", avatar_url="", unionid=None)


# --- secrets never leak ---------------------------------------------------------------------


def _leak_surfaces(exc: BaseException) -> str:
    return "\n".join([str(exc), repr(exc), "".join(traceback.format_exception(exc))])


async def test_no_secret_code_or_token_in_logs_or_errors(
    sim: SimRef, make_client: Callable[..., WeChatClient], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = make_client()
    code = await sim.code(SITE, 1, "snsapi_login")
    token = await client.exchange_code(SITE, code)
    await client.user_info(token.access_token, token.openid)
    await client.check_access_token(token.access_token, token.openid)
    await client.refresh(SITE, token.refresh_token)
    raised: list[BaseException] = []

    async def expect_failure(call: Callable[[], object]) -> None:
        with pytest.raises(WeChatError) as info:
            await call()  # type: ignore[misc]
        raised.append(info.value)

    await expect_failure(lambda: client.exchange_code(SITE, code))  # 40163
    wrong = WeChatApp(appid=SITE.appid, secret=MP.secret, kind="website")
    await expect_failure(lambda: client.exchange_code(wrong, code))  # 40125
    # WeChat could echo what it was sent; the client must not pass that on.
    await sim.fault(USERINFO_PATH, body=f'{{"errcode": 40001, "errmsg": "bad token {token.access_token}"}}')
    await expect_failure(lambda: client.user_info(token.access_token, token.openid))
    await sim.fault(ACCESS_TOKEN_PATH, body=f'{{"errcode": 40029, "errmsg": "code {code} secret {SITE.secret}"}}')
    await expect_failure(lambda: client.exchange_code(SITE, code))
    await sim.fault(ACCESS_TOKEN_PATH, drop=True, times=2)
    await expect_failure(lambda: client.exchange_code(SITE, code))
    await sim.fault(REFRESH_TOKEN_PATH, errcode=-1, times=10)
    await expect_failure(lambda: client.refresh(SITE, token.refresh_token))
    await sim.fault(ACCESS_TOKEN_PATH, delay_s=12)
    await expect_failure(lambda: make_client(timeout=aiohttp.ClientTimeout(total=0.05)).exchange_code(SITE, code))

    # The simulator's own server access log shows the query, as a real server's would; only
    # what the client side of this process logs is under test.
    client_side = [r for r in caplog.records if not r.name.startswith(("aiohttp.access", "webapp.wechat_sim"))]
    assert any(r.name == "webapp.wechat" for r in client_side)
    text = "\n".join(r.getMessage() for r in client_side) + "\n".join(_leak_surfaces(e) for e in raised)
    text += repr(token) + repr(SITE) + repr(wrong)
    for secret in (SITE.secret, MP.secret, code, token.access_token, token.refresh_token):
        assert secret not in text
    assert "***" in str(raised[2]) and "***" in str(raised[3])


# --- pure value and error-mapping checks ----------------------------------------------------


def test_token_payload_is_parsed_tolerantly() -> None:
    token = OAuthToken.from_payload(
        {"access_token": "AT", "refresh_token": "RT", "openid": "o1", "expires_in": "7200", "is_snapshotuser": 1},
        now=START,
    )
    assert token.scope == ""
    assert token.unionid is None
    assert token.is_snapshot_user is True
    assert token.access_expires_at == START + TWO_HOURS
    assert "AT" not in repr(token) and "RT" not in repr(token)


@pytest.mark.parametrize(
    "payload",
    [
        {"refresh_token": "RT", "openid": "o1", "expires_in": 7200},
        {"access_token": "AT", "refresh_token": "RT", "expires_in": 7200},
        {"access_token": "AT", "refresh_token": "RT", "openid": "o1"},
        {"access_token": "AT", "refresh_token": "RT", "openid": "o1", "expires_in": "soon"},
        {"access_token": 1, "refresh_token": "RT", "openid": "o1", "expires_in": 7200},
    ],
)
def test_token_payload_missing_required_fields_is_malformed(payload: dict[str, object]) -> None:
    with pytest.raises(MalformedResponse):
        OAuthToken.from_payload(payload, now=START)


def test_naive_now_is_refused() -> None:
    with pytest.raises(ValueError):
        OAuthToken.from_payload({}, now=datetime(2026, 1, 1))


def test_app_repr_hides_the_secret() -> None:
    assert SITE.secret not in repr(SITE)


@pytest.mark.parametrize(
    ("errcode", "klass"),
    [
        (40029, InvalidCode),
        (42003, InvalidCode),
        (40163, CodeAlreadyUsed),
        (40030, RefreshTokenInvalid),
        (42002, RefreshTokenExpired),
        (42001, AccessTokenExpired),
        (40001, errors.AccessTokenInvalid),
        (40014, errors.AccessTokenInvalid),
        (48001, ScopeUnauthorized),
        (50001, ScopeUnauthorized),
        (40003, InvalidOpenid),
        (45009, RateLimited),
        (45011, RateLimited),
        (-1, WeChatBusy),
        (40013, Misconfigured),
        (40125, Misconfigured),
        (41002, Misconfigured),
        (41004, Misconfigured),
        (41008, WeChatAPIError),
        (99999, WeChatAPIError),
    ],
)
def test_errcode_picks_its_class(errcode: int, klass: type[WeChatAPIError]) -> None:
    exc = WeChatAPIError.from_payload(errcode, "msg, rid: 1-2-3")
    assert type(exc) is klass
    assert (exc.errcode, exc.errmsg) == (errcode, "msg, rid: 1-2-3")
    assert str(errcode) in str(exc)
