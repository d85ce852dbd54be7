"""Follow the official account to log in, end to end: the page's script over HTTP, the simulator's phone
and its pushes (safe mode), the site's database. Each outcome the page can meet is here."""

from __future__ import annotations

from sqlalchemy import func, select

from tests.wechat.harness import World, count
from tests.wechat.mp.conftest import PusherFor
from tests.wechat.mp.follow_page import FollowPage, ticket_of
from tests.wechat.mp.helpers import advance, phone_action, push_to
from tests.wechat.mp.pushes import event_xml, reply_content
from webapp.models import OAuthState, RateLimit, User, WebSession, WeChatIdentity
from webapp.wechat_sim import fixture as sim_fixture


async def scanned_page(world: World, user: int = 1, *, follow: bool = True) -> tuple[FollowPage, dict]:
    """A browser showing a QR code that `user` has just scanned with the phone (following if asked)."""
    page = FollowPage(world.browser())
    status, data = await page.open()
    assert status == 200 and data["status"] == "pending", data
    await push_to(world)
    answer = await phone_action(world, "scan", user=user, ticket=await ticket_of(world, data["scene"]), follow=follow)
    return page, answer


async def test_a_new_follower_is_logged_in_by_the_page_that_showed_the_qr(mp_world: World) -> None:
    page, answer = await scanned_page(mp_world, user=2)
    assert answer["event"] == "subscribe"
    assert await page.wait() == (200, {"status": "scanned", "message": "Scanned. Logging you in…"})
    status, data = await page.claim()
    assert (status, data["status"], data["redirect"]) == (200, "login", "/auth/wechat/continue")  # a new account
    me = await page.browser.me()
    assert me is not None
    [identity] = me["wechat"]
    assert identity["appid"] == sim_fixture.MP_APPID and identity["openid"] == answer["openid"]
    assert identity["unionid"] == (await mp_world.sim.user(2))["unionid"]
    assert identity["access_expires_at"] is None  # follow-login grants no OAuth tokens


async def test_a_follower_scans_and_is_logged_in(mp_world: World) -> None:
    await push_to(mp_world)
    await phone_action(mp_world, "follow", user=3)
    page, answer = await scanned_page(mp_world, user=3)
    assert answer["event"] == "SCAN"
    assert (await page.wait())[1]["status"] == "scanned"
    assert (await page.claim())[1]["status"] == "login"
    assert (await page.browser.me()) is not None


async def test_the_scanners_chat_says_which_site_is_being_logged_in(mp_world: World, pusher_for: PusherFor) -> None:
    page = FollowPage(mp_world.browser())
    _, data = await page.open()
    async with mp_world.sm() as s:
        ticket = await s.scalar(select(OAuthState.ticket).where(OAuthState.state == data["scene"]))
    pusher = pusher_for(mp_world, "safe")
    scan = event_xml(
        "oScanner000000000000000000001",
        "subscribe",
        pusher.timestamp,
        EventKey=f"qrscene_{data['scene']}",
        Ticket=ticket,
    )
    status, reply = await pusher.post(scan)
    assert status == 200
    assert reply_content(reply).startswith("正在为显示此二维码的浏览器登录 localhost")


async def test_the_same_person_on_the_website_and_the_official_account_is_one_account(mp_world: World) -> None:
    pc = mp_world.browser()
    await pc.qr_login(user=3)
    account = (await pc.me())["id"]  # type: ignore[index]
    page, _ = await scanned_page(mp_world, user=3)
    await page.wait()
    status, data = await page.claim()
    assert (status, data["redirect"]) == (200, "/settings")  # an existing account: straight on
    me = await page.browser.me()
    assert me is not None and me["id"] == account
    assert {i["appid"] for i in me["wechat"]} == {sim_fixture.WEBSITE_APPID, sim_fixture.MP_APPID}
    assert await count(mp_world.sm, User) == 1


async def test_a_qr_code_expires_and_the_page_says_so(mp_world: World) -> None:
    page = FollowPage(mp_world.browser())
    await page.open()
    await advance(mp_world, 301)
    assert await page.wait() == (200, {"status": "expired", "message": "The QR code has expired. Get a new one."})
    assert (await page.claim())[0] == 410


async def test_a_scan_after_expiry_changes_nothing_and_the_chat_says_expired(
    mp_world: World, pusher_for: PusherFor
) -> None:
    page = FollowPage(mp_world.browser())
    _, data = await page.open()
    ticket = await ticket_of(mp_world, data["scene"])
    mp_world.clock.advance(seconds=301)  # the site's QR is over (WeChat's own may lag a little)
    pusher = pusher_for(mp_world, "safe")
    status, reply = await pusher.post(
        event_xml("oLate00000000000000000000001", "SCAN", pusher.timestamp, EventKey=data["scene"], Ticket=ticket)
    )
    assert status == 200 and "二维码已过期" in reply_content(reply)
    assert (await page.wait())[1]["status"] == "expired"
    assert await page.browser.me() is None


async def test_a_second_scan_is_told_the_code_was_used_and_the_first_scanner_logs_in(mp_world: World) -> None:
    page, first = await scanned_page(mp_world, user=1)
    second = await phone_action(
        mp_world, "scan", user=4, ticket=await ticket_of(mp_world, page.scene or ""), follow=True
    )
    assert second["delivery"]["status"] == "delivered"
    assert (await page.wait())[1]["status"] == "scanned"
    await page.claim()
    me = await page.browser.me()
    assert me is not None and me["wechat"][0]["openid"] == first["openid"]
    page.csrf = await page.browser.csrf("/settings")  # the login started a new session: a new token
    assert await page.claim() == (409, {"status": "login", "message": "Logged in. Taking you on…"})  # once only


async def test_another_browser_can_neither_watch_nor_claim_the_scene(mp_world: World) -> None:
    page, _ = await scanned_page(mp_world, user=1)
    thief = FollowPage(mp_world.browser())
    await thief.open()
    assert (await thief.wait(page.scene))[0] == 403
    status, data = await thief.claim(page.scene)
    assert (status, data["status"]) == (403, "other_browser")
    assert await thief.browser.me() is None
    assert (await page.claim())[1]["status"] == "login"  # the right browser still can


async def test_unfollowing_before_the_page_logs_in_cancels_the_login(mp_world: World) -> None:
    page, _ = await scanned_page(mp_world, user=5)
    await phone_action(mp_world, "unfollow", user=5)
    status, data = await page.wait()
    assert status == 200 and data["status"] == "cancelled" and "unfollowed" in data["message"]
    assert (await page.claim())[0] == 409
    assert await page.browser.me() is None


async def test_a_scan_without_following_sends_nothing_and_the_page_keeps_waiting(mp_world: World) -> None:
    page = FollowPage(mp_world.browser())
    _, data = await page.open()
    await push_to(mp_world)
    answer = await mp_world.sim.control(
        "POST", "mp/scan", {"user": 1, "ticket": await ticket_of(mp_world, data["scene"]), "follow": False}
    )
    assert answer["delivery"] is None
    await advance(mp_world, 301)  # so the poll below answers at once: the QR ran out unscanned
    assert (await page.wait())[1]["status"] == "expired"


async def test_reading_the_login_page_writes_nothing(mp_world: World) -> None:
    browser = mp_world.browser()
    before = {m: await count(mp_world.sm, m) for m in (OAuthState, RateLimit, WebSession)}
    page = await browser.get("/login")
    assert 'id="follow-login"' in await page.text()
    assert {m: await count(mp_world.sm, m) for m in (OAuthState, RateLimit, WebSession)} == before


async def test_qr_codes_are_limited_per_browser_and_by_the_sites_budget_never_per_address(
    aiohttp_client, mp_settings, sessionmaker, clock, sim_server
) -> None:  # type: ignore[no-untyped-def]
    from tests.wechat.mp.conftest import _mp_world
    from webapp.wechat.mp.limits import BROWSER_LIMIT

    async for world in _mp_world(
        aiohttp_client, mp_settings.with_(follow_qr_budget=BROWSER_LIMIT + 2), sessionmaker, clock, sim_server
    ):
        page = FollowPage(world.browser())
        for _ in range(BROWSER_LIMIT):
            assert (await page.open())[0] == 200
        page.browser.headers["Accept-Language"] = "zh-CN"
        status, data = await page.open()
        assert (status, data["status"], data["message"]) == (429, "rate_limited", "此浏览器请求了过多的二维码。请等几分钟后再试。")
        # Another browser behind the same address is not affected, until the whole site's budget is spent.
        neighbour = FollowPage(world.browser())
        assert [(await neighbour.open())[0] for _ in range(3)] == [200, 200, 503]
        async with world.sm() as s:
            assert await s.scalar(select(func.count()).select_from(OAuthState)) == 0  # asking wrote no scene


async def test_phones_and_wechats_browser_get_no_qr(mp_world: World) -> None:
    phone = mp_world.browser(wechat=True)
    assert 'id="follow-login"' not in await (await phone.get("/login")).text()
    page = FollowPage(mp_world.browser())
    page.browser.headers["User-Agent"] = "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile Safari/537.36"
    status, data = await page.open()
    assert (status, data["status"]) == (404, "unsupported")


async def test_follow_login_off_means_no_block_and_no_routes(aiohttp_client, mp_settings, sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    from webapp.app import create_app

    site = await aiohttp_client(
        create_app(mp_settings.with_(wechat_mp_follow_login=False), sessionmaker=sessionmaker, clock=clock)
    )
    assert 'id="follow-login"' not in await (await site.get("/login")).text()
    assert (await site.get("/auth/wechat/follow/wait", params={"scene": "A" * 61})).status == 404


async def test_bad_scenes_get_clear_answers(mp_world: World) -> None:
    page = FollowPage(mp_world.browser())
    await page.open()
    for scene in ("", "short", "x" * 500, "A" * 31 + "!"):
        status, data = await page.wait(scene)
        assert status == 400 and data["status"] == "expired"
    other = FollowPage(mp_world.browser())
    await other.open()
    assert (await page.wait(other.scene))[0:1] == (403,)  # another browser's scene
    mp_world.clock.advance(minutes=6)
    assert (await page.wait()) == (
        200,
        {"status": "expired", "message": "The QR code has expired. Get a new one."},
    )


async def test_the_identity_has_no_tokens_and_the_refresher_leaves_it_alone(mp_world: World) -> None:
    page, _ = await scanned_page(mp_world, user=2)
    await page.wait()
    await page.claim()
    async with mp_world.sm() as s:
        identity = await s.scalar(select(WeChatIdentity).where(WeChatIdentity.appid == sim_fixture.MP_APPID))
    assert identity is not None and identity.access_token_enc is None and identity.refresh_token_enc is None
