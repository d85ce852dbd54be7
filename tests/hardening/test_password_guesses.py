"""Guessing passwords concurrently: at most the limits are ever verified, and argon2 never runs beyond its semaphore.

Forty guesses at once on one event loop, over many database connections with real commits: the
throttle reserves a failure under advisory locks *before* each verification, so however the requests
interleave, no more than 5 per username and 20 per address reach argon2 in a window, and a right
password arriving past the limit logs nobody in. Verifications are counted by our own Passwords
subclass; argon2 runs are counted in the loop's executor threads.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable

import aiohttp
import pytest

from tests.accounts.helpers import create_user
from tests.hardening.conftest import PASSWORD, ArgonWatch, CountingPasswords, MakeWorld, table_rows
from tests.wechat.harness import Browser, World
from webapp.accounts.throttle import LIMITS
from webapp.csrf import CSRF_FIELD

GUESSES = 40
SEMAPHORE = 3


@pytest.fixture
async def argon() -> AsyncIterator[ArgonWatch]:
    """argon2 runs watched in the loop's default executor (more threads than the semaphore allows)."""
    watch = ArgonWatch(rendezvous=SEMAPHORE)
    asyncio.get_running_loop().set_default_executor(watch)
    yield watch
    assert watch.peak == SEMAPHORE, f"argon2 ran {watch.peak} at once; the semaphore allows {SEMAPHORE}"


@pytest.fixture
def passwords() -> CountingPasswords:
    return CountingPasswords(concurrency=SEMAPHORE)


async def burst(send: Callable[[int], Awaitable[aiohttp.ClientResponse]], n: int = GUESSES) -> Counter[int]:
    """`n` requests at once; the count of each status. None may be a 500."""

    async def one(i: int) -> int:
        resp = await send(i)
        body = await resp.text()
        assert resp.status < 500 and "Traceback" not in body, body[:300]
        return resp.status

    return Counter(await asyncio.gather(*(one(i) for i in range(n))))


def form_poster(browser: Browser, path: str, token: str) -> Callable[[dict[str, str]], Awaitable[aiohttp.ClientResponse]]:
    async def post(data: dict[str, str]) -> aiohttp.ClientResponse:
        return await browser.site.post(path, data={CSRF_FIELD: token, **data}, headers=browser.headers,
                                       allow_redirects=False)

    return post


async def sessions(world: World) -> int:
    return (await table_rows(world.sm))["web_sessions"]


async def test_forty_guesses_at_one_username_verify_five_and_a_right_password_after_them_is_refused(
    make_pooled_world: MakeWorld, passwords: CountingPasswords, argon: ArgonWatch
) -> None:
    world = await make_pooled_world(passwords=passwords)
    await create_user(world.sm, world.clock, username="alice")
    browser = world.browser()
    post = form_poster(browser, "/login", await browser.csrf("/login"))

    first = await burst(lambda i: post({"username": "alice", "password": f"guess {i}"}))
    assert passwords.verified == LIMITS["user"] == 5
    assert first == Counter({400: 5, 429: GUESSES - 5})

    second = await burst(lambda i: post({"username": "alice", "password": PASSWORD if i == 17 else f"again {i}"}))
    assert second == Counter({429: GUESSES})
    assert passwords.verified == 5
    assert await browser.me() is None and await sessions(world) == 0


async def test_forty_guesses_at_forty_usernames_verify_twenty_per_address(
    make_pooled_world: MakeWorld, passwords: CountingPasswords, argon: ArgonWatch
) -> None:
    world = await make_pooled_world(passwords=passwords)
    await create_user(world.sm, world.clock, username="user39")
    browser = world.browser()
    post = form_poster(browser, "/login", await browser.csrf("/login"))

    statuses = await burst(lambda i: post({"username": f"user{i}", "password": f"guess {i}"}))
    assert passwords.verified == LIMITS["ip"] == 20
    assert statuses == Counter({400: 20, 429: 20})

    right = await post({"username": "user39", "password": PASSWORD})
    assert right.status == 429 and passwords.verified == 20
    assert await browser.me() is None and await sessions(world) == 0


async def test_forty_reauthentications_at_once_verify_five_and_grant_nothing(
    make_pooled_world: MakeWorld, passwords: CountingPasswords, argon: ArgonWatch
) -> None:
    world = await make_pooled_world(passwords=passwords)
    browser = world.browser()
    await browser.signup("bob", PASSWORD)
    world.clock.advance(minutes=11)  # the sign-up no longer counts as a recent login
    post = form_poster(browser, "/settings/reauth", await browser.csrf("/settings/confirm"))

    first = await burst(lambda i: post({"password": f"guess {i}", "next": "/settings"}))
    assert passwords.verified == 5
    assert first == Counter({400: 5, 429: GUESSES - 5})
    second = await burst(lambda i: post({"password": PASSWORD if i == 3 else f"again {i}", "next": "/settings"}))
    assert second == Counter({429: GUESSES}) and passwords.verified == 5

    bind = await browser.post("/settings/wechat/bind", {})  # still no recent login: sent to confirm it's you
    assert bind.status == 302 and bind.headers["Location"].startswith("/settings/confirm")
    assert (await browser.me())["username"] == "bob"  # type: ignore[index]


async def test_forty_i_already_have_an_account_attempts_verify_five_and_move_nothing(
    make_pooled_world: MakeWorld, passwords: CountingPasswords, argon: ArgonWatch
) -> None:
    world = await make_pooled_world(passwords=passwords)
    alice = await create_user(world.sm, world.clock, username="alice")
    browser = world.browser()
    await browser.follow((await browser.qr_login(user=2)).headers["Location"])  # a new WeChat account
    fresh = await browser.me()
    assert fresh is not None and fresh["id"] != alice.id
    post = form_poster(browser, "/auth/wechat/link-existing", await browser.csrf("/auth/wechat/continue"))

    first = await burst(lambda i: post({"username": "alice", "password": f"guess {i}"}))
    assert passwords.verified == 5
    assert first == Counter({400: GUESSES})  # the offer's form again, with the error
    second = await burst(lambda i: post({"username": "alice", "password": PASSWORD if i == 0 else f"again {i}"}))
    assert second == Counter({400: GUESSES}) and passwords.verified == 5

    me = await browser.me()
    assert me is not None and me["id"] == fresh["id"] and len(me["wechat"]) == 1  # nothing moved
    assert (await table_rows(world.sm))["users"] == 2
