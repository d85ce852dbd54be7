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
from webapp.accounts.throttle import LIMITS
from webapp.models import WebSession

CLIENT = "203.0.113.7"


def through_proxy(browser: Browser, forged: str) -> CIMultiDict[str]:
    return CIMultiDict([*browser.headers.items(), ("X-Forwarded-For", forged), ("X-Forwarded-For", CLIENT)])


async def test_forged_first_lines_do_not_buy_more_password_guesses(make_world: MakeWorld) -> None:
    """The one limit keyed on the client address (password guesses: 20 per 15 minutes) keys on the proxy's word."""
    world = await make_world(trusted_proxies=frozenset({"127.0.0.1"}))
    browser = world.browser()
    token = await browser.csrf("/login")
    statuses = []
    for n in range(LIMITS["ip"] + 1):  # another username each time: only the address limit can refuse
        headers = through_proxy(browser, f"198.51.100.{n}")
        form = {"csrf_token": token, "username": f"nobody{n}", "password": "wrong password"}
        resp = await browser.site.post("/login", data=form, headers=headers, allow_redirects=False)
        statuses.append(resp.status)
    assert statuses == [400] * LIMITS["ip"] + [429], statuses


async def test_the_session_records_the_proxys_word_not_the_forged_text(make_world: MakeWorld) -> None:
    world = await make_world(trusted_proxies=frozenset({"127.0.0.0/8"}))  # a CIDR: honoured
    browser = world.browser()
    browser.headers = through_proxy(browser, "<b>admin</b>, 10.0.0.1")  # type: ignore[assignment]
    await browser.signup("mallory", PASSWORD)
    async with world.sm() as s:
        assert (await s.scalars(select(WebSession.ip))).all() == [CLIENT]
