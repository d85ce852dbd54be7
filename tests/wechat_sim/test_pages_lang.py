"""The simulator's pages in WeChat's language (Chinese by default, English with lang=en), and the mp phone page."""

from __future__ import annotations

import json

import pytest
from yarl import URL

from tests.wechat_sim.conftest import CALLBACK, Sim, control, new_param_qr
from webapp.wechat_sim import fixture as fx

QR = {"appid": fx.WEBSITE_APPID, "redirect_uri": CALLBACK, "response_type": "code", "scope": "snsapi_login",
      "state": "s"}
AUTH = {"appid": fx.MP_APPID, "redirect_uri": CALLBACK, "response_type": "code", "scope": "snsapi_userinfo",
        "state": "s"}


async def html(sim: Sim, path: str, **params: str) -> str:
    """GET a page and return its HTML (asserting 200)."""
    resp = await sim.client.get(path, params=params)
    assert resp.status == 200
    return await resp.text()


async def uuid_of(sim: Sim, page: str) -> str:
    """The uuid shown on a QR page."""
    return page.split('src="/connect/qrcode/')[1].split('"')[0]


@pytest.mark.parametrize(("lang", "words", "html_lang"), [
    (None, ["微信登录", "使用微信扫一扫登录", "在新标签页打开"], "zh-CN"), ("cn", ["微信登录"], "zh-CN"),
    ("en", ["WeChat Login", "Scan with WeChat to log in to", "open the \"phone\" in a new tab"], "en"),
])
async def test_qr_page_language(sim: Sim, lang: str | None, words: list[str], html_lang: str) -> None:
    page = await html(sim, "/connect/qrconnect", **QR | ({"lang": lang} if lang else {}))
    assert all(w in page for w in words) and f'<html lang="{html_lang}">' in page


@pytest.mark.parametrize(("lang", "words", "allowed"), [
    (None, ["扫一扫", "允许", "拒绝", "申请使用"], "已允许，电脑端将自动登录"),
    ("en", ["Scan", "Allow", "Deny", "requests"], "Allowed: the computer logs in now"),
])
async def test_phone_page_speaks_the_language_of_its_qr_page(sim: Sim, lang: str | None, words: list[str],
                                                             allowed: str) -> None:
    uuid = await uuid_of(sim, await html(sim, "/connect/qrconnect", **QR | ({"lang": lang} if lang else {})))
    phone = await html(sim, "/connect/confirm", uuid=uuid)
    assert all(w in phone for w in words)
    script_text = json.loads(phone.split('id="phone-text">')[1].split("</script>")[0])
    assert script_text["allowed"] == allowed
    switched = await html(sim, "/connect/confirm", uuid=uuid, lang="zh_CN" if lang else "en")
    assert ("扫一扫" in switched) is bool(lang)


async def test_expired_phone_page_in_both_languages(sim: Sim) -> None:
    assert "二维码已失效" in await html(sim, "/connect/confirm", uuid="A" * 16)
    assert "The QR code has expired" in await html(sim, "/connect/confirm", uuid="A" * 16, lang="en")


async def test_error_pages_in_english(sim: Sim) -> None:
    page = await html(sim, "/connect/qrconnect", **QR | {"redirect_uri": "https://evil.example/cb", "lang": "en"})
    assert "redirect_uri parameter error" in page and "Error code: 10003" in page
    assert "错误码：10003" in await html(sim, "/connect/qrconnect", **QR | {"redirect_uri": "https://evil.example/"})


async def test_authorize_pages_follow_lang_param_and_the_phone_cookie(sim: Sim) -> None:
    assert "哪个测试用户" in await html(sim, "/connect/oauth2/authorize", **AUTH)
    picker = await html(sim, "/connect/oauth2/authorize", **AUTH | {"lang": "en"})
    assert "whose WeChat is this browser?" in picker and "lang%3Den" in picker
    await sim.client.get("/_sim/wechat-browser", params={"user": "1", "next": "/", "lang": "en"})
    consent = await html(sim, "/connect/oauth2/authorize", **AUTH)
    assert "Allow" in consent and "your nickname and profile photo" in consent
    assert '<input type="hidden" name="lang" value="en">' in consent
    assert "允许" in await html(sim, "/connect/oauth2/authorize", **AUTH | {"lang": "zh_CN"})
    snapshot = await html(sim, "/connect/oauth2/authorize", **AUTH | {"forceSnapShot": "true"})
    assert "Use full service" in snapshot


async def test_chinese_consent_keeps_wechats_wording(sim: Sim) -> None:
    await sim.client.get("/_sim/wechat-browser", params={"user": "2", "next": "/"})
    consent = await html(sim, "/connect/oauth2/authorize", **AUTH)
    assert all(w in consent for w in ("申请", "获取你的昵称、头像", "允许", "拒绝", "李娜🌸"))


@pytest.mark.parametrize(("lang", "words"), [
    (None, ["扫一扫", "关注公众号", "暂不关注", "模拟服务号"]), ("en", ["Scan", "Follow", "Don&#39;t follow"]),
])
async def test_mp_phone_page(sim: Sim, lang: str | None, words: list[str]) -> None:
    qr = await new_param_qr(sim)
    page = await html(sim, URL(qr["url"]).path, **({"lang": lang} if lang else {}))
    assert all(w in page for w in words) and qr["ticket"] in page and "/_sim/static/mp_phone.js" in page


async def test_mp_phone_page_of_an_expired_code(sim: Sim) -> None:
    qr = await new_param_qr(sim, expire_seconds=60)
    await sim.advance(60)
    assert "该二维码已过期" in await html(sim, URL(qr["url"]).path)
    assert "This QR code has expired" in await html(sim, URL(qr["url"]).path, lang="en")


async def test_home_page_has_official_account_controls(sim: Sim) -> None:
    qr = await new_param_qr(sim, "scene_on_home")
    await control(sim, "POST", "mp/follow", {"user": 2})
    page = await html(sim, "/")
    assert 'id="mp-users"' in page and "Revoke authorization" in page and "Change profile" in page
    assert "WECHAT_SIM_PUSH_URL" in page and "scene_on_home" in page and qr["url"] in page
    row = page.split('<tr data-user="2">')[1].split("</tr>")[0]
    assert "following" in row and 'data-action="follow" hidden' in row
    await control(sim, "POST", "push-config", {"url": "http://localhost:8080/wechat/mp/events", "token": "abc"})
    assert "http://localhost:8080/wechat/mp/events" in await html(sim, "/")


async def test_page_scripts_are_served(sim: Sim) -> None:
    for name, needle in (("home.js", "/_sim/api/mp/"), ("mp_phone.js", "/_sim/api/mp/scan"),
                         ("confirm.js", "phone-text")):
        resp = await sim.client.get(f"/_sim/static/{name}")
        assert resp.status == 200 and needle in await resp.text()
