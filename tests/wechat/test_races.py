"""Races the database settles, each proven to have happened: one new person logging in twice at once is one account.

A race test that also passes when its requests run one after the other proves nothing. Here a holder
transaction first inserts, without committing, the very unionid the racers are about to create. Each
racer's check-then-insert statement finds nobody (the holder's row is invisible to it) and then waits on
the holder at the unique index: the test sees every racer waiting there (pg_locks), so all of them are
inside the critical section, past their checks. The holder rolls back; one racer inserts, the other hits
the unique constraint. That the loser really took the retry is observed on the site's own database
connections: exactly one statement failed, with a unique violation (on the union or the identity).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager

import asyncpg
from aiohttp import web
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import T0
from tests.wechat.harness import Browser, World, count, pooled_world, sim_server, wechat_settings  # noqa: F401
from webapp.keys import database_key
from webapp.models import User, WeChatIdentity, WeChatUnion

# Backends of this database blocked inside an insert, on another transaction's uncommitted row: the holder's,
# or (for the second racer) the first racer's, which itself waits on the holder.
WAITING_AT_INDEX = text(
    """SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
       WHERE l.locktype = 'transactionid' AND NOT l.granted AND a.datname = current_database()"""
)


@contextmanager
def failed_statements(app: web.Application) -> Iterator[list[asyncpg.PostgresError]]:
    """Every statement the site's hot paths send that PostgreSQL refuses, while the block runs."""
    db = app[database_key]
    failures: list[asyncpg.PostgresError] = []
    original = db.connection

    def record(query: asyncpg.connection.LoggedQuery) -> None:
        if isinstance(query.exception, asyncpg.PostgresError):
            failures.append(query.exception)

    @asynccontextmanager
    async def watched() -> AsyncIterator[asyncpg.Connection]:
        async with original() as conn:
            conn.add_query_logger(record)
            try:
                yield conn
            finally:
                conn.remove_query_logger(record)

    db.connection = watched  # type: ignore[method-assign]
    try:
        yield failures
    finally:
        del db.connection


@asynccontextmanager
async def unionid_held(sm: async_sessionmaker[AsyncSession], unionid: str) -> AsyncIterator[Callable[[int], Awaitable[None]]]:
    """Insert this unionid uncommitted; yield `waiting(n)`, which returns once n racers are blocked at its index."""
    async with sm() as holder, sm() as watcher:
        user = User(display_name="holder", created_at=T0, updated_at=T0, last_seen_at=T0)
        holder.add(user)
        await holder.flush()
        holder.add(WeChatUnion(unionid=unionid, user_id=user.id, created_at=T0))
        await holder.flush()

        async def waiting(n: int) -> None:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 20
            while await watcher.scalar(WAITING_AT_INDEX) < n:
                await watcher.rollback()  # a fresh look at pg_locks next time
                if loop.time() > deadline:
                    raise AssertionError(f"{n} racers never reached the unique index of wechat_unions")

        try:
            yield waiting
        finally:
            await holder.rollback()


async def race(world: World, unionid: str, *callbacks: tuple[Browser, str]) -> list[asyncpg.PostgresError]:
    """Deliver the callbacks at once, each held inside its insert of `unionid` until all are; the statements refused."""
    with failed_statements(world.site.server.app) as failures:
        async with unionid_held(world.sm, unionid) as waiting:
            racers = asyncio.gather(*(browser.get(path) for browser, path in callbacks))
            await waiting(len(callbacks))  # every racer checked, found nobody, and is inserting
        responses = await racers
    assert [r.status for r in responses] == [302] * len(callbacks)
    return failures


def one_retry(failures: list[asyncpg.PostgresError]) -> None:
    """Exactly one insert lost to the unique constraint (and so was settled by the rules' second pass)."""
    assert [type(f) for f in failures] == [asyncpg.UniqueViolationError], failures
    assert failures[0].constraint_name in ("pk_wechat_unions", "uq_wechat_identities_appid_openid")


async def test_simultaneous_first_logins_of_one_person_in_two_apps_make_one_account(pooled_world: World) -> None:  # noqa: F811
    world = pooled_world
    pc, phone = world.browser(), world.browser(wechat=True)
    pc_callback = await pc.scan_qr(await pc.start("/auth/wechat/start"), 3)
    phone_callback = await phone.authorize_in_wechat(await phone.start("/auth/wechat/start?scope=userinfo"), 3)

    one_retry(await race(world, (await world.sim.user(3))["unionid"], (pc, pc_callback), (phone, phone_callback)))

    assert await count(world.sm, User) == 1
    assert await count(world.sm, WeChatUnion) == 1
    assert await count(world.sm, WeChatIdentity) == 2
    pc_me, phone_me = await pc.me(), await phone.me()
    assert pc_me is not None and phone_me is not None and pc_me["id"] == phone_me["id"]


async def test_simultaneous_logins_of_one_new_openid_make_one_identity(pooled_world: World) -> None:  # noqa: F811
    world = pooled_world
    first, second = world.browser(), world.browser()
    callbacks = [await b.scan_qr(await b.start("/auth/wechat/start"), 4) for b in (first, second)]

    one_retry(await race(world, (await world.sim.user(4))["unionid"], (first, callbacks[0]), (second, callbacks[1])))

    assert await count(world.sm, User) == 1
    assert await count(world.sm, WeChatIdentity) == 1
    first_me, second_me = await first.me(), await second.me()
    assert first_me is not None and second_me is not None and first_me["id"] == second_me["id"]


async def test_one_wechat_bound_by_two_accounts_at_once_goes_to_exactly_one(pooled_world: World) -> None:  # noqa: F811
    world = pooled_world
    alice, bob = world.browser(), world.browser()
    await alice.signup("alice")
    await bob.signup("bob")
    callbacks = [await b.scan_qr(await b.start("POST /settings/wechat/bind"), 5) for b in (alice, bob)]

    one_retry(await race(world, (await world.sim.user(5))["unionid"], (alice, callbacks[0]), (bob, callbacks[1])))

    assert await count(world.sm, WeChatIdentity) == 1 and await count(world.sm, WeChatUnion) == 1
    bound = [len((await b.me())["wechat"]) for b in (alice, bob)]  # type: ignore[index]
    assert sorted(bound) == [0, 1]
