"""Two tabs of one browser: flows started side by side keep their own payload, and each finishes."""

from __future__ import annotations

from tests.wechat.harness import World
from webapp.wechat.flowcookie import MAX_FLOWS, PREFIX


async def test_two_tabs_start_flows_at_once_and_both_finish_where_they_were_going(world: World) -> None:
    browser = world.browser()
    await browser.get("/login")  # the page gives the browser its binding
    first = await browser.start("/auth/wechat/start?next=/settings")
    second = await browser.start("/auth/wechat/start?next=/settings%23wechat")
    first_callback = await browser.scan_qr(first, 1)
    second_callback = await browser.scan_qr(second, 1)
    assert (await browser.get(second_callback)).headers["Location"] in ("/settings#wechat", "/auth/wechat/continue")
    assert (await browser.get(first_callback)).headers["Location"] == "/settings"


async def test_a_browser_keeps_only_its_newest_flows(world: World) -> None:
    browser = world.browser()
    for n in range(MAX_FLOWS + 3):
        await browser.start(f"/auth/wechat/start?next=/p{n}")
    kept = [c for c in browser.site.session.cookie_jar if c.key.startswith(PREFIX) and c.value]
    assert len(kept) == MAX_FLOWS


async def test_long_next_paths_never_make_the_browsers_requests_too_big(world: World) -> None:
    browser = world.browser()
    long_next = "/" + "a" * 1_900  # a valid next path, as long as the site accepts
    for _ in range(MAX_FLOWS + 2):
        await browser.start(f"/auth/wechat/start?next={long_next}")
    assert (await browser.get("/login")).status == 200
    callback = await browser.scan_qr(await browser.start(f"/auth/wechat/start?next={long_next}"), 1)
    assert (await browser.get(callback)).headers["Location"] in ("/", "/auth/wechat/continue")
