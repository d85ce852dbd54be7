"""Settings speak the reader's language: natural security activity with method and device, times in the browser's
time zone (else the language's), WeChat connections as active or needing a new scan, never token expiry times."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.wechat.harness import Browser, World
from webapp.models import WeChatIdentity

PASSWORD = "correct horse battery"


def activity(page: str) -> str:
    return page[page.index('id="activity"'):page.index('id="data"')]


async def signed_up(world: World, *, lang: str = "en", tz: str | None = None) -> Browser:
    browser = world.browser()
    browser.headers["Accept-Language"] = lang
    if tz is not None:
        browser.site.session.cookie_jar.update_cookies({"tz": tz})
    await browser.signup("alice", PASSWORD)
    return browser


async def test_activity_reads_naturally_with_method_device_and_local_time(world: World) -> None:
    browser = await signed_up(world, tz="Europe%2FParis")
    await browser.post("/settings/password", {"current_password": PASSWORD, "password": "another passphrase",
                                              "confirm": "another passphrase"})
    await browser.get(await browser.scan_qr(await browser.start("POST /settings/wechat/bind"), 1))
    page = activity(await (await browser.get("/settings")).text())
    assert "Account created <span class=\"activity-how\">with your password</span>" in page
    assert "Password changed" in page
    assert "WeChat bound <span class=\"activity-how\">by scanning WeChat&#39;s QR code</span>" in page
    assert "Chrome on Windows · <time datetime=\"2026-11-20T12:00:00+00:00\">Nov 20, 2026 13:00</time>" in page
    assert "Times are in your time zone (Paris)." in page


@pytest.mark.parametrize(
    ("lang", "tz", "shown", "zone"),
    [
        ("zh-CN", None, "2026年11月20日 20:00", "上海"),
        ("en", None, "Nov 20, 2026 12:00", "UTC"),
        ("zh-CN", "Mars%2FOlympus", "2026年11月20日 20:00", "上海"),
        ("en", "..%2F..%2Fetc%2Fpasswd", "Nov 20, 2026 12:00", "UTC"),
        ("en", "America%2FNew_York", "Nov 20, 2026 07:00", "New York"),
        ("zh-CN", "America%2FNew_York", "2026年11月20日 07:00", "纽约"),
    ],
)
async def test_times_are_in_the_browsers_zone_else_the_languages(world: World, lang: str, tz: str | None, shown: str,
                                                                 zone: str) -> None:
    browser = await signed_up(world, lang=lang, tz=tz)
    page = await (await browser.get("/settings")).text()
    assert f">{shown}</time>" in activity(page)
    assert f"({zone})" in activity(page) or f"（{zone}）" in activity(page)


async def test_chinese_activity_is_chinese(world: World) -> None:
    browser = await signed_up(world, lang="zh-CN")
    page = activity(await (await browser.get("/settings")).text())
    assert '创建了账号 <span class="activity-how">使用密码</span>' in page


async def test_wechat_connections_are_active_or_need_a_new_scan_never_token_times(world: World) -> None:
    browser = world.browser()
    await browser.qr_login(user=1)
    page = await (await browser.get("/settings")).text()
    assert "WeChat connection active" in page
    me = await browser.me()
    for stamp in (me["wechat"][0]["access_expires_at"], me["wechat"][0]["refresh_expires_at"]):  # type: ignore[index]
        assert stamp[:10] not in page.split('id="wechat"', 1)[1].split("</section>", 1)[0]
    async with world.sm.begin() as s:
        await s.execute(update(WeChatIdentity).values(status="reauth_required"))
    page = await (await browser.get("/settings")).text()
    assert "Needs a new scan" in page and "Log in with this WeChat once more" in page
