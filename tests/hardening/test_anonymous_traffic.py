"""Anonymous traffic is bounded without any per-address limit: starting flows writes nothing, and reading writes nothing."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from urllib.parse import parse_qs, urlsplit

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
        ("GET", "/auth/wechat/start?scope=userinfo", None),
        ("EMBED", "/auth/wechat/embed-state", None),
        ("JUNK", "/auth/wechat/start?next=/x", None),  # a real state, called back with a code WeChat refuses
        ("CANCEL", "/auth/wechat/start", None),  # a real state, called back without a code
        ("GET", "/auth/wechat/callback", None),
        ("GET", "/auth/wechat/callback?state=ForgedState&code=forgedcode", None),
        ("GET", "/", None),
        ("GET", "/login?next=/settings", None),
        ("GET", "/auth/wechat/start", None),
        ("EMBED", "/auth/wechat/embed-state?next=/y", None),
        ("GET", "/auth/wechat/finish?state=ForgedState", None),
    ] * 3 + [
        ("POST", "/login", {CSRF_FIELD: token, "username": "nobody", "password": "wrong password"}),
        ("POST", "/signup", {CSRF_FIELD: token, "username": "taken", "password": PASSWORD, "confirm": PASSWORD}),
        ("POST", "/signup", {CSRF_FIELD: token, "username": "newcomer", "password": PASSWORD, "confirm": "other"}),
    ]


async def _send(browser: Browser, token: str, method: str, path: str, form: dict[str, str] | None) -> int:
    if method == "GET":
        resp = await browser.get(path)
    elif method == "EMBED":
        headers = {**browser.headers, CSRF_HEADER: token}
        resp = await browser.site.post(path, headers=headers, allow_redirects=False)
    elif method in ("JUNK", "CANCEL"):
        start = await browser.get(path)
        state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
        code = "&code=junkcode" if method == "JUNK" else ""
        resp = await browser.get(f"/auth/wechat/callback?state={state}{code}")
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
    # No per-address limit was involved: every flow start and every embedded QR's state was served.
    assert not any(status == 429 for (what, status) in statuses if "wechat" in what), statuses
    assert statuses[("GET /auth/wechat/start", 302)] > 1_800 and statuses[("EMBED /auth/wechat/embed-state", 200)] > 1_200
    assert statuses[("JUNK /auth/wechat/start", 302)] > 600  # the refused codes reached WeChat (the simulator)
    assert "oauth_states" not in grown  # starts and refused codes left no state behind
    assert grown.get("login_failures", 0) <= 2 * 20  # password guesses stay throttled per name and per address


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
