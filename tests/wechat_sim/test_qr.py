"""Website QR login: the QR page, its errors, the PNG, the long-poll state machine, the phone."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
import segno

from tests.wechat_sim.conftest import CALLBACK, Sim
from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim import ids

QR_PARAMS = {"appid": fx.WEBSITE_APPID, "redirect_uri": CALLBACK, "response_type": "code",
             "scope": "snsapi_login", "state": "abc"}


async def test_full_page_is_dark_and_shows_the_qr(sim: Sim) -> None:
    resp = await sim.client.get("/connect/qrconnect", params=QR_PARAMS)
    html = await resp.text()
    assert resp.status == 200
    assert "background: #333" in html and "padding: 50px" in html
    assert 'class="qrcode lightBorder"' in html and 'src="/connect/qrcode/' in html
    config = json.loads(html.split('id="wx-config">')[1].split("</script>")[0])
    assert config["redirect_uri"] == CALLBACK and config["state"] == "abc"
    assert config["self_redirect"] == "default" and len(config["uuid"]) == 16


async def test_iframe_mode_is_compact_and_carries_self_redirect(sim: Sim) -> None:
    params = QR_PARAMS | {"login_type": "jssdk", "self_redirect": "true", "style": "white", "lang": "en"}
    html = await (await sim.client.get("/connect/qrconnect", params=params)).text()
    assert "background: #333" not in html and "background: transparent" in html
    assert '"self_redirect": "true"' in html and "WeChat Login" in html and "color: #fff" in html


@pytest.mark.parametrize(("href", "shown"), [
    ("https://cdn.example.com/qr.css", True), ("data:text/css;base64,LmE=", True),
    ("http://localhost/qr.css", False),
])
async def test_custom_css_only_https_or_data(sim: Sim, href: str, shown: bool) -> None:
    params = QR_PARAMS | {"login_type": "jssdk", "href": href}
    html = await (await sim.client.get("/connect/qrconnect", params=params)).text()
    assert (f'<link rel="stylesheet" href="{href}">' in html) is shown
    lite = await (await sim.client.get("/connect/qrconnect", params=params | {"stylelite": "1"})).text()
    assert '<link rel="stylesheet"' not in lite


@pytest.mark.parametrize(("override", "message"), [
    ({"appid": ""}, "该链接无法访问"),
    ({"appid": "wx0000000000000000"}, "该链接无法访问"),
    ({"appid": fx.MP_APPID}, "Scope 参数错误或没有 Scope 权限"),
    ({"scope": "snsapi_userinfo"}, "Scope 参数错误或没有 Scope 权限"),
    ({"scope": ""}, "Scope 参数错误或没有 Scope 权限"),
    ({"redirect_uri": "https://evil.example.com/cb"}, "redirect_uri 参数错误"),
    ({"redirect_uri": ""}, "redirect_uri 参数错误"),
])
async def test_error_pages_do_not_redirect(sim: Sim, override: dict[str, str], message: str) -> None:
    resp = await sim.client.get("/connect/qrconnect", params=QR_PARAMS | override, allow_redirects=False)
    assert resp.status == 200
    html = await resp.text()
    assert message in html and "wx-config" not in html


async def test_any_port_on_callback_hosts_is_accepted(sim: Sim) -> None:
    for uri in ("http://127.0.0.1:9999/x", "https://localhost/deep/path?a=1"):
        assert await sim.new_qr(redirect_uri=uri)


async def test_qrcode_png_encodes_the_phone_page(sim: Sim) -> None:
    uuid = await sim.new_qr()
    resp = await sim.client.get(f"/connect/qrcode/{uuid}")
    assert resp.status == 200 and resp.content_type == "image/png"
    expected = io.BytesIO()
    target = str(sim.client.make_url(f"/connect/confirm?uuid={uuid}"))
    segno.make_qr(target).save(expected, kind="png", scale=6, border=2)
    assert await resp.read() == expected.getvalue()
    assert (await sim.client.get("/connect/qrcode/AAAAAAAAAAAAAAAA")).status == 404


async def test_state_machine_408_404_405_and_code_exchanges(sim: Sim) -> None:
    uuid = await sim.new_qr(state="xyz")
    assert await sim.poll(uuid) == (408, "")
    assert (await sim.qr(uuid, "scan", 2))[1]["status"] == 404
    assert await sim.poll(uuid) == (404, "")
    assert await sim.poll(uuid, last="404") == (408, "")
    status, body = await sim.qr(uuid, "confirm", 2)
    assert status == 200 and body["status"] == 405
    assert body["redirect_url"] == f"{CALLBACK}?code={body['code']}&state=xyz"
    assert await sim.poll(uuid, last="404") == (405, body["code"])
    token = await sim.exchange(body["code"])
    assert token["openid"] == ids.openid_for(fx.WEBSITE_APPID, 2)
    assert token["scope"] == "snsapi_login" and "unionid" in token


async def test_cancel_gives_403_then_rescan_works(sim: Sim) -> None:
    uuid = await sim.new_qr()
    await sim.qr(uuid, "scan", 1)
    assert (await sim.qr(uuid, "cancel", 1))[1]["status"] == 403
    assert await sim.poll(uuid, last="404") == (403, "")
    assert await sim.poll(uuid, last="403") == (408, "")
    await sim.qr(uuid, "scan", 3)
    status, body = await sim.qr(uuid, "confirm", 3)
    assert status == 200 and body["user"] == 3


async def test_confirm_before_scan_or_by_another_user_is_refused(sim: Sim) -> None:
    uuid = await sim.new_qr()
    assert (await sim.qr(uuid, "confirm", 1))[0] == 409
    await sim.qr(uuid, "scan", 1)
    assert (await sim.qr(uuid, "confirm", 2))[0] == 409
    assert (await sim.qr(uuid, "dance", 1))[0] == 400
    assert (await sim.qr(uuid, "scan", 99))[0] == 400
    assert (await sim.qr("AAAAAAAAAAAAAAAA", "scan", 1))[0] == 404


async def test_fragment_quirk_code_lands_after_the_hash(sim: Sim) -> None:
    uuid = await sim.new_qr(redirect_uri="http://localhost:8080/#/login", state="s")
    await sim.qr(uuid, "scan", 1)
    body = (await sim.qr(uuid, "confirm", 1))[1]
    assert body["redirect_url"] == f"http://localhost:8080/#/login?code={body['code']}&state=s"
    uuid = await sim.new_qr(redirect_uri="http://localhost:8080/cb?x=1#/r", state="s")
    await sim.qr(uuid, "scan", 1)
    body = (await sim.qr(uuid, "confirm", 1))[1]
    assert body["redirect_url"] == f"http://localhost:8080/cb?x=1#/r&code={body['code']}&state=s"


async def test_qr_expires_after_300_seconds(sim: Sim) -> None:
    uuid = await sim.new_qr()
    await sim.advance(299)
    assert await sim.poll(uuid) == (408, "")
    await sim.advance(1)
    assert await sim.poll(uuid) == (402, "")
    assert (await sim.qr(uuid, "scan", 1))[0] == 404
    assert (await sim.client.get(f"/connect/qrcode/{uuid}")).status == 404


async def test_unknown_uuid_is_402_and_missing_uuid_is_500(sim: Sim) -> None:
    assert await sim.poll("AAAAAAAAAAAAAAAA") == (402, "")
    text = await (await sim.client.get("/connect/l/qrconnect")).text()
    assert text == "window.wx_errcode=500;window.wx_code='';"


async def test_held_poll_wakes_on_scan(sim: Sim) -> None:
    sim.state.poll_hold_s = 30
    uuid = await sim.new_qr()
    task = asyncio.create_task(sim.poll(uuid))
    await asyncio.sleep(0)
    await sim.qr(uuid, "scan", 1)
    assert await asyncio.wait_for(task, 5) == (404, "")
    task = asyncio.create_task(sim.poll(uuid, last="404"))
    await asyncio.sleep(0)
    body = (await sim.qr(uuid, "confirm", 1))[1]
    assert await asyncio.wait_for(task, 5) == (405, body["code"])


async def test_xml_mode_returns_uuid_in_cdata(sim: Sim) -> None:
    resp = await sim.client.get("/connect/qrconnect", params=QR_PARAMS | {"f": "xml"})
    assert resp.content_type == "text/xml"
    assert "<uuid><![CDATA[" in await resp.text()


async def test_phone_page_lists_users_and_knows_expired_codes(sim: Sim) -> None:
    uuid = await sim.new_qr()
    html = await (await sim.client.get(f"/connect/confirm?uuid={uuid}")).text()
    assert 'name="viewport"' in html and "🐼熊猫" in html and 'id="btn-scan"' in html
    assert "/_sim/static/confirm.js" in html
    expired = await (await sim.client.get("/connect/confirm?uuid=AAAAAAAAAAAAAAAA")).text()
    assert "二维码已失效" in expired


async def test_page_scripts_are_served(sim: Sim) -> None:
    js = await (await sim.client.get("/_sim/static/qrconnect.js")).text()
    assert "/connect/l/qrconnect?uuid=" in js and "window.top.location.href" in js
    assert 'cfg.redirect_uri.indexOf("?") > -1 ? "&" : "?"' in js
    assert (await sim.client.get("/_sim/static/confirm.js")).status == 200
