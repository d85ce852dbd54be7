"""A client behind a proxy that appends its own X-Forwarded-For line cannot choose its address.

HAProxy's `option forwardfor` and several CDNs add a header line of their own rather than extending
the client's. Whatever the client forges in the first line, the limits keyed on its address and the
address its session records are the proxy's word.
"""

from __future__ import annotations

from multidict import CIMultiDict
from sqlalchemy import select

from tests.hardening.conftest import PASSWORD, MakeWorld
from tests.wechat.harness import Browser
from webapp.csrf import CSRF_HEADER
from webapp.models import WebSession

CLIENT = "203.0.113.7"


def through_proxy(browser: Browser, forged: str) -> CIMultiDict[str]:
    return CIMultiDict([*browser.headers.items(), ("X-Forwarded-For", forged), ("X-Forwarded-For", CLIENT)])


async def test_forged_first_lines_do_not_buy_more_wechat_flows(make_world: MakeWorld) -> None:
    world = await make_world(state_rate_limit=3, trusted_proxies=frozenset({"127.0.0.1"}))
    browser = world.browser()
    token = await browser.csrf("/login")
    statuses = []
    for n in range(5):
        headers = through_proxy(browser, f"198.51.100.{n}")
        headers.update({"Accept": "application/json", CSRF_HEADER: token})
        resp = await browser.site.post("/auth/wechat/embed-state", headers=headers, allow_redirects=False)
        statuses.append(resp.status)
    assert statuses == [200, 200, 200, 429, 429]


async def test_the_session_records_the_proxys_word_not_the_forged_text(make_world: MakeWorld) -> None:
    world = await make_world(trusted_proxies=frozenset({"127.0.0.0/8"}))  # a CIDR: honoured
    browser = world.browser()
    browser.headers = through_proxy(browser, "<b>admin</b>, 10.0.0.1")  # type: ignore[assignment]
    await browser.signup("mallory", PASSWORD)
    async with world.sm() as s:
        assert (await s.scalars(select(WebSession.ip))).all() == [CLIENT]
