"""Official-account web authorization: identity picker, silent/consent/deny, snapshot, fragments, errors."""

from __future__ import annotations

import pytest
from yarl import URL

from tests.wechat_sim.conftest import CALLBACK, Sim
from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim import ids

AUTHORIZE = "/connect/oauth2/authorize"


def auth_params(scope: str = "snsapi_base", **extra: str) -> dict[str, str]:
    """Return a well-formed authorize query."""
    return {"appid": fx.MP_APPID, "redirect_uri": CALLBACK, "response_type": "code", "scope": scope,
            "state": "abc123"} | extra


async def be_wechat_of(sim: Sim, user: int, snapshot: bool = False) -> None:
    """Set this client's 'WeChat identity' cookie."""
    params = {"user": str(user), "next": "/"} | ({"snapshot": "1"} if snapshot else {})
    resp = await sim.client.get("/_sim/wechat-browser", params=params, allow_redirects=False)
    assert resp.status == 302 and resp.headers["Location"] == "/"


async def authorize(sim: Sim, **params: str) -> tuple[int, str, str]:
    """GET authorize without following redirects; return (status, Location, body)."""
    resp = await sim.client.get(AUTHORIZE, params=params, allow_redirects=False)
    return resp.status, resp.headers.get("Location", ""), await resp.text()


async def decide(sim: Sim, decision: str, **params: str) -> str:
    """Answer the consent popup; return Location."""
    form = {k: params[k] for k in ("appid", "redirect_uri", "scope", "state")} | {"decision": decision}
    resp = await sim.client.post(f"{AUTHORIZE}/decide", data=form, allow_redirects=False)
    assert resp.status == 302
    return resp.headers["Location"]


async def test_without_identity_a_picker_asks_which_user(sim: Sim) -> None:
    status, _, html = await authorize(sim, **auth_params())
    assert status == 200 and "哪个测试用户" in html and "/_sim/wechat-browser?user=1" in html
    assert "next=%2Fconnect%2Foauth2%2Fauthorize%3F" in html


async def test_wechat_browser_then_next_continues_the_flow(sim: Sim) -> None:
    next_url = str(URL(AUTHORIZE).with_query(auth_params()))
    resp = await sim.client.get("/_sim/wechat-browser", params={"user": "2", "next": next_url},
                                allow_redirects=False)
    assert resp.headers["Location"] == next_url
    status, location, _ = await authorize(sim, **auth_params())
    assert status == 302 and location.startswith(CALLBACK + "?code=")


async def test_unknown_browser_user_is_400(sim: Sim) -> None:
    resp = await sim.client.get("/_sim/wechat-browser", params={"user": "99"})
    assert resp.status == 400


async def test_base_scope_is_silent_and_code_gives_openid(sim: Sim) -> None:
    await be_wechat_of(sim, 3)
    status, location, _ = await authorize(sim, **auth_params())
    url = URL(location)
    assert status == 302 and url.query["state"] == "abc123"
    token = await sim.exchange(url.query["code"], fx.MP_APPID, fx.MP_SECRET)
    assert token["openid"] == ids.openid_for(fx.MP_APPID, 3) and token["scope"] == "snsapi_base"


async def test_code_is_inserted_before_the_fragment(sim: Sim) -> None:
    await be_wechat_of(sim, 1)
    _, location, _ = await authorize(sim, **auth_params(redirect_uri="http://localhost:8080/app?x=1#/home"))
    assert location.startswith("http://localhost:8080/app?x=1&code=")
    assert location.endswith("&state=abc123#/home")


async def test_userinfo_consent_allow_then_silent_next_time(sim: Sim) -> None:
    await be_wechat_of(sim, 2)
    params = auth_params("snsapi_userinfo")
    status, _, html = await authorize(sim, **params)
    assert status == 200 and "李娜🌸" in html and 'value="allow"' in html
    location = await decide(sim, "allow", **params)
    token = await sim.exchange(URL(location).query["code"], fx.MP_APPID, fx.MP_SECRET)
    assert token["scope"] == "snsapi_userinfo" and "unionid" in token
    status, location, _ = await authorize(sim, **params)
    assert status == 302 and "code=" in location
    status, _, _ = await authorize(sim, **params, forcePopup="true")
    assert status == 200


async def test_userinfo_deny_redirects_with_state_only(sim: Sim) -> None:
    await be_wechat_of(sim, 1)
    params = auth_params("snsapi_userinfo", redirect_uri="http://localhost:8080/cb#/x")
    location = await decide(sim, "deny", **params)
    assert location == "http://localhost:8080/cb?state=abc123#/x"


async def test_consent_is_per_app_user_and_revocable(sim: Sim) -> None:
    await be_wechat_of(sim, 1)
    params = auth_params("snsapi_userinfo")
    await decide(sim, "allow", **params)
    await sim.client.post("/_sim/api/tokens/revoke", json={"appid": fx.MP_APPID, "user": 1})
    assert (await authorize(sim, **params))[0] == 200
    await be_wechat_of(sim, 2)
    assert (await authorize(sim, **params))[0] == 200


@pytest.mark.parametrize("how", ["param", "cookie"])
async def test_snapshot_mode_virtual_code_and_full_service_button(sim: Sim, how: str) -> None:
    await be_wechat_of(sim, 4, snapshot=how == "cookie")
    params = auth_params("snsapi_userinfo") | ({"forceSnapShot": "true"} if how == "param" else {})
    status, _, html = await authorize(sim, **params)
    assert status == 200 and "使用完整服务" in html
    snapshot_url = html.split('id="snapshot-browse" href="')[1].split('"')[0].replace("&amp;", "&")
    token = await sim.exchange(URL(snapshot_url).query["code"], fx.MP_APPID, fx.MP_SECRET)
    assert token["is_snapshotuser"] == 1 and token["openid"] != ids.openid_for(fx.MP_APPID, 4)
    full_url = html.split('id="use-full-service" href="')[1].split('"')[0].replace("&amp;", "&")
    resp = await sim.client.get(full_url, allow_redirects=False)
    assert resp.status == 200 and 'value="allow"' in await resp.text()


async def test_snapshot_does_not_apply_after_recent_authorization(sim: Sim) -> None:
    await be_wechat_of(sim, 1)
    await decide(sim, "allow", **auth_params("snsapi_userinfo"))
    status, location, _ = await authorize(sim, **auth_params("snsapi_userinfo", forceSnapShot="true"))
    token = await sim.exchange(URL(location).query["code"], fx.MP_APPID, fx.MP_SECRET)
    assert status == 302 and "is_snapshotuser" not in token


async def test_base_scope_is_never_snapshot(sim: Sim) -> None:
    await be_wechat_of(sim, 1, snapshot=True)
    status, location, _ = await authorize(sim, **auth_params())
    token = await sim.exchange(URL(location).query["code"], fx.MP_APPID, fx.MP_SECRET)
    assert status == 302 and "is_snapshotuser" not in token


@pytest.mark.parametrize(("override", "message"), [
    ({"appid": fx.WEBSITE_APPID}, "Scope 参数错误或没有 Scope 权限"),
    ({"scope": "snsapi_login"}, "Scope 参数错误或没有 Scope 权限"),
    ({"scope": ""}, "Scope 参数错误或没有 Scope 权限"),
    ({"appid": "wx0000000000000000"}, "该链接无法访问"),
    ({"appid": ""}, "该链接无法访问"),
    ({"redirect_uri": ""}, "该链接无法访问"),
    ({"redirect_uri": "https://evil.example.com/cb"}, "redirect_uri 参数错误"),
    ({"response_type": "token"}, "该链接无法访问"),
    ({"state": "a" * 129}, "state参数过长"),
    ({"state": "has-dash"}, "state参数过长"),
])
async def test_error_pages(sim: Sim, override: dict[str, str], message: str) -> None:
    await be_wechat_of(sim, 1)
    status, location, html = await authorize(sim, **(auth_params() | override))
    assert status == 200 and not location and message in html


async def test_website_appid_is_10005(sim: Sim) -> None:
    _, _, html = await authorize(sim, **auth_params(appid=fx.WEBSITE_APPID))
    assert "10005" in html


async def test_state_of_128_alphanumerics_and_empty_state_pass(sim: Sim) -> None:
    await be_wechat_of(sim, 1)
    assert (await authorize(sim, **auth_params(state="A1" * 64)))[0] == 302
    _, location, _ = await authorize(sim, **auth_params(state=""))
    assert location.endswith("&state=")


async def test_official_account_code_lives_300_seconds(sim: Sim) -> None:
    await be_wechat_of(sim, 1)
    _, location, _ = await authorize(sim, **auth_params())
    await sim.advance(300)
    assert (await sim.exchange(URL(location).query["code"], fx.MP_APPID, fx.MP_SECRET))["errcode"] == 40029
