"""Follow-to-log-in accounts are described as they are: WeChat gives official accounts no nickname or picture,
so the settings page says so, and a profile-change event says nothing changed here (a grant that can be
synced keeps the plain event). Chat replies name the site by SITE_NAME."""

from __future__ import annotations

from tests.wechat.harness import World
from tests.wechat.mp.helpers import events_of, oa_identity, oa_login, phone_action, push_to
from tests.wechat.mp.test_follow_login import scanned_page
from webapp.settings import Settings
from webapp.wechat.mp.views import chat_site_label


async def test_a_follower_account_and_its_profile_event_say_what_official_accounts_receive(mp_world: World) -> None:
    page, _answer = await scanned_page(mp_world, user=2)
    await page.wait()
    assert (await page.claim())[1]["status"] == "login"
    settings = await (await page.browser.get("/settings")).text()
    assert "WeChat (follower of our official account)" in settings
    assert "Official accounts no longer receive WeChat nicknames or pictures, so none is shown here." in settings
    assert "Logs in inside WeChat" not in settings

    await phone_action(mp_world, "profile", user=2, nickname="新名字")
    me = await page.browser.me()
    assert me is not None
    [event] = await events_of(mp_world, me["id"], "wechat_profile_changed")
    assert event.method == "wechat_follow"
    settings = await (await page.browser.get("/settings")).text()
    assert "official accounts no longer receive nicknames or pictures, so nothing here changed" in settings


async def test_an_in_wechat_login_keeps_the_plain_profile_event(mp_world: World) -> None:
    await oa_login(mp_world, user=3)
    await push_to(mp_world)
    await phone_action(mp_world, "profile", user=3, nickname="x")
    identity = await oa_identity(mp_world, 3)
    [event] = await events_of(mp_world, identity.user_id, "wechat_profile_changed")
    assert event.method == ""


def test_chat_replies_name_the_site_by_site_name_when_one_is_chosen(settings: Settings) -> None:
    site = settings.with_(public_url="https://tea.example.com")
    assert chat_site_label(site) == "tea.example.com"  # the default name says nothing a person knows
    assert chat_site_label(site.with_(site_name="莲花茶馆")) == "莲花茶馆 (tea.example.com)"
