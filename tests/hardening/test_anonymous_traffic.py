"""Anonymous traffic is bounded: what strangers can make the site store is capped per address, and reading writes nothing."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter

from sqlalchemy import text

from tests.accounts.helpers import create_user
from tests.hardening.conftest import PASSWORD, MakeWorld, table_rows
from tests.wechat.harness import Browser, World
from webapp.csrf import CSRF_FIELD, CSRF_HEADER

REQUESTS = 10_000
CONCURRENCY = 8
ROW_BUDGET = 100
READ_ONLY_PAGES = [
    "/", "/login", "/login?next=/settings&why=login_required", "/login?qr=expired", "/signup", "/signup?next=/x",
    "/healthz", "/api/me", "/settings", "/auth/wechat/callback", "/auth/wechat/callback?state=AAAA&code=BBBB",
    "/auth/wechat/callback?state=%00&code=x", "/auth/wechat/callback?state=" + "A" * 200,
    "/auth/wechat/finish?state=AAAA", "/auth/wechat/finish", "/auth/wechat/continue", "/lang/en", "/lang/zh_CN",
    "/no/such/page", "/static/js/wechat-embed.js",
]


async def _token(browser: Browser) -> str:
    """The CSRF token this anonymous browser's forms carry (no session: bound to the cookie only)."""
    return await browser.csrf("/login")


def _mix(token: str) -> list[tuple[str, str, dict[str, str] | None]]:
    """One round of what a stranger can do: (method, path, form)."""
    return [
        ("GET", "/login", None),
        ("GET", "/signup", None),
        ("GET", "/", None),
        ("GET", "/auth/wechat/start?next=/settings", None),
        ("EMBED", "/auth/wechat/embed-state", None),
        ("GET", "/auth/wechat/callback", None),
        ("GET", "/auth/wechat/callback?state=ForgedState&code=forgedcode", None),
        ("POST", "/login", {CSRF_FIELD: token, "username": "nobody", "password": "wrong password"}),
        ("POST", "/login", {CSRF_FIELD: token, "username": "taken", "password": "wrong password"}),
        ("POST", "/signup", {CSRF_FIELD: token, "username": "taken", "password": PASSWORD, "confirm": PASSWORD}),
        ("POST", "/signup", {CSRF_FIELD: token, "username": "newcomer", "password": PASSWORD, "confirm": "other"}),
        ("POST", "/signup", {CSRF_FIELD: token, "username": "x", "password": "short", "confirm": "short"}),
    ]


async def _send(browser: Browser, token: str, method: str, path: str, form: dict[str, str] | None) -> int:
    if method == "GET":
        resp = await browser.get(path)
    elif method == "EMBED":
        headers = {**browser.headers, CSRF_HEADER: token}
        resp = await browser.site.post(path, headers=headers, allow_redirects=False)
    else:
        resp = await browser.site.post(path, data=form, headers=browser.headers, allow_redirects=False)
    body = await resp.text()
    assert resp.status < 500 and "Traceback" not in body, (path, resp.status, body[:300])
    return resp.status


async def test_ten_thousand_anonymous_requests_leave_at_most_a_hundred_rows(make_pooled_world: MakeWorld) -> None:
    world = await make_pooled_world()
    await create_user(world.sm, world.clock, username="taken")
    before = await table_rows(world.sm)
    browser = world.browser()
    token = await _token(browser)
    requests = iter(itertools.islice(itertools.cycle(_mix(token)), REQUESTS))
    statuses: Counter[tuple[str, int]] = Counter()

    async def stranger() -> None:  # several at once, as a script would (and argon2's threads overlap the rest)
        for method, path, form in requests:
            statuses[(f"{method} {path.split('?')[0]}", await _send(browser, token, method, path, form))] += 1

    await asyncio.gather(*(stranger() for _ in range(CONCURRENCY)))

    assert statuses.total() == REQUESTS
    after = await table_rows(world.sm)
    grown = {table: after[table] - before[table] for table in after if after[table] != before[table]}
    assert sum(grown.values()) <= ROW_BUDGET, grown
    assert await browser.me() is None  # still anonymous
    # Every limit was really reached (the traffic was not too gentle to prove anything).
    assert grown["oauth_states"] == world.settings.state_rate_limit
    assert statuses[("GET /auth/wechat/start", 429)] > 0 and statuses[("EMBED /auth/wechat/embed-state", 429)] > 0
    assert statuses[("POST /login", 429)] > 0 and statuses[("POST /signup", 429)] > 0
    assert grown["login_failures"] <= 2 * 20  # a row for the name and one for the address, 20 per address


async def test_reading_pages_anonymously_writes_nothing(world: World) -> None:
    before = sum((await table_rows(world.sm)).values())  # other tests' committed rows may share the database
    browser, wechat_browser = world.browser(), world.browser(wechat=True)
    for page in READ_ONLY_PAGES:
        for who in (browser, wechat_browser):
            resp = await who.get(page)
            assert resp.status < 500, (page, resp.status)
    # PostgreSQL assigns a transaction id at the first write (even one rolled back to a savepoint): none yet.
    async with world.sm() as s:
        assert await s.scalar(text("SELECT txid_current_if_assigned()")) is None
    assert sum((await table_rows(world.sm)).values()) == before
