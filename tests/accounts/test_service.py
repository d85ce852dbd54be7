"""The accounts service against the real database: sign-up, login, throttling, password changes."""

from __future__ import annotations

import pytest
from argon2.profiles import CHEAPEST
from sqlalchemy import func, select

from tests.accounts.helpers import PASSWORD, SM, create_user
from webapp.accounts import service
from webapp.accounts.account import Account
from webapp.accounts.errors import InvalidCredentials, TooManyAttempts, UsernameTaken, WrongPassword
from webapp.clock import FrozenClock
from webapp.db import Database
from webapp.models import LoginFailure, SecurityEvent, User
from webapp.passwords import Passwords
from webapp.security import verify_password

WHERE = service.Origin(client="Firefox on Linux", ip="192.0.2.1")
PASSWORDS = Passwords(parameters=CHEAPEST)


async def sign_up(
    sessionmaker: SM, clock: FrozenClock, username: str = "alice", password: str = PASSWORD, display_name: str = ""
) -> Account:
    return await service.sign_up(
        Database.joined_to(sessionmaker), PASSWORDS, username=username, password=password, display_name=display_name,
        now=clock(), origin=WHERE,
    )


async def login(
    sessionmaker: SM, clock: FrozenClock, username: str = "alice", password: str = PASSWORD, ip: str = "192.0.2.1"
) -> Account:
    return await service.authenticate(
        Database.joined_to(sessionmaker), PASSWORDS, username=username, password=password,
        origin=service.Origin(client="Firefox on Linux", ip=ip), now=clock(),
    )


async def kinds(sessionmaker: SM, user_id: int) -> list[str]:
    return [e.kind for e in await service.recent_activity(sessionmaker, user_id=user_id)]


async def test_sign_up_stores_an_argon2id_hash_and_a_signup_event(sessionmaker: SM, clock: FrozenClock) -> None:
    user = await sign_up(sessionmaker, clock, username="Alice", display_name="Alice L.")
    async with sessionmaker() as s:
        stored = await s.get(User, user.id)
        event = await s.scalar(select(SecurityEvent).where(SecurityEvent.user_id == user.id))
    assert stored is not None
    assert (stored.username, stored.username_key, stored.display_name) == ("Alice", "alice", "Alice L.")
    assert stored.password_hash is not None and stored.password_hash.startswith("$argon2id$")
    assert verify_password(stored.password_hash, PASSWORD)
    assert stored.created_at == clock()
    assert event is not None
    assert (event.kind, event.method, event.client, event.ip) == ("signup", "password", "Firefox on Linux", "192.0.2.1")


@pytest.mark.parametrize("second", ["alice", "ALICE", "ａｌｉｃｅ", "Alice"])
async def test_duplicate_sign_up_is_refused_by_the_key(sessionmaker: SM, clock: FrozenClock, second: str) -> None:
    await sign_up(sessionmaker, clock, username="alice")
    with pytest.raises(UsernameTaken):
        await sign_up(sessionmaker, clock, username=second)
    async with sessionmaker() as s:
        assert await s.scalar(select(func.count()).select_from(User)) == 1


async def test_login_with_any_case_or_width_finds_the_account(sessionmaker: SM, clock: FrozenClock) -> None:
    user = await sign_up(sessionmaker, clock, username="Zoë")
    assert (await login(sessionmaker, clock, username="ZOË")).id == user.id
    assert (await login(sessionmaker, clock, username="zoe\u0308")).id == user.id


async def test_login_records_login_and_failure_events(sessionmaker: SM, clock: FrozenClock) -> None:
    user = await sign_up(sessionmaker, clock)
    with pytest.raises(InvalidCredentials):
        await login(sessionmaker, clock, password="wrong password")
    clock.advance(seconds=1)
    await login(sessionmaker, clock)
    assert await kinds(sessionmaker, user.id) == ["login", "login_failed", "signup"]


async def test_unknown_user_and_wrong_password_raise_the_same_error(sessionmaker: SM, clock: FrozenClock) -> None:
    await sign_up(sessionmaker, clock)
    with pytest.raises(InvalidCredentials) as unknown:
        await login(sessionmaker, clock, username="nobody")
    with pytest.raises(InvalidCredentials) as wrong:
        await login(sessionmaker, clock, password="wrong password")
    assert type(unknown.value) is type(wrong.value) and str(unknown.value) == str(wrong.value)


async def test_wechat_only_account_cannot_log_in_with_any_password(sessionmaker: SM, clock: FrozenClock) -> None:
    await create_user(sessionmaker, clock, username="wx", password=None)
    with pytest.raises(InvalidCredentials):
        await login(sessionmaker, clock, username="wx", password="")


async def failures(sessionmaker: SM, scope: str, key: str) -> int:
    async with sessionmaker() as s:
        return await s.scalar(
            select(func.count()).select_from(LoginFailure).where(LoginFailure.scope == scope, LoginFailure.key == key)
        )


async def test_five_failures_for_a_username_lock_it_for_fifteen_minutes(sessionmaker: SM, clock: FrozenClock) -> None:
    await sign_up(sessionmaker, clock)
    for minute in range(5):
        with pytest.raises(InvalidCredentials):
            await login(sessionmaker, clock, password="wrong password", ip=f"198.51.100.{minute}")
        clock.advance(minutes=1)
    # The correct password is refused too while throttled; the oldest failure was 5 minutes ago.
    with pytest.raises(TooManyAttempts) as refused:
        await login(sessionmaker, clock)
    assert refused.value.minutes == 10
    clock.advance(minutes=9, seconds=59)
    with pytest.raises(TooManyAttempts) as still:
        await login(sessionmaker, clock)
    assert still.value.minutes == 1
    clock.advance(seconds=1)
    assert (await login(sessionmaker, clock)).username == "alice"


async def test_unknown_usernames_are_throttled_like_real_ones(sessionmaker: SM, clock: FrozenClock) -> None:
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await login(sessionmaker, clock, username="ghost")
    with pytest.raises(TooManyAttempts):
        await login(sessionmaker, clock, username="ghost")


async def test_success_clears_the_username_counter_but_not_the_ip_counter(sessionmaker: SM, clock: FrozenClock) -> None:
    await sign_up(sessionmaker, clock)
    for _ in range(4):
        with pytest.raises(InvalidCredentials):
            await login(sessionmaker, clock, password="wrong password")
    await login(sessionmaker, clock)
    assert await failures(sessionmaker, "user", "alice") == 0
    assert await failures(sessionmaker, "ip", "192.0.2.1") == 4


async def test_twenty_failures_from_one_ip_block_every_username(sessionmaker: SM, clock: FrozenClock) -> None:
    await sign_up(sessionmaker, clock)
    async with sessionmaker.begin() as s:
        for n in range(19):
            s.add(LoginFailure(scope="ip", key="203.0.113.9", failed_at=clock()))
    clock.advance(minutes=2)
    with pytest.raises(InvalidCredentials):
        await login(sessionmaker, clock, username="someone", password="x" * 8, ip="203.0.113.9")
    with pytest.raises(TooManyAttempts) as refused:
        await login(sessionmaker, clock, ip="203.0.113.9")
    assert refused.value.minutes == 13  # the 20th most recent failure is 2 minutes old
    assert (await login(sessionmaker, clock, ip="203.0.113.10")).username == "alice"  # another address is fine
    clock.advance(minutes=13)
    assert (await login(sessionmaker, clock, ip="203.0.113.9")).username == "alice"


async def test_throttled_attempts_are_not_counted(sessionmaker: SM, clock: FrozenClock) -> None:
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            await login(sessionmaker, clock, username="ghost")
    for _ in range(3):
        with pytest.raises(TooManyAttempts):
            await login(sessionmaker, clock, username="ghost")
    assert await failures(sessionmaker, "user", "ghost") == 5


async def test_change_password_needs_the_current_one(sessionmaker: SM, clock: FrozenClock) -> None:
    user = await sign_up(sessionmaker, clock)
    args = {"user_id": user.id, "new_password": "a brand new one", "username": None, "now": clock(), "origin": WHERE,
            "keep_session": None}
    db = Database.joined_to(sessionmaker)
    with pytest.raises(WrongPassword):
        await service.set_password(db, PASSWORDS, current_password="not it", **args)
    await service.set_password(db, PASSWORDS, current_password=PASSWORD, **args)
    with pytest.raises(InvalidCredentials):
        await login(sessionmaker, clock)
    assert (await login(sessionmaker, clock, password="a brand new one")).id == user.id
    assert "password_changed" in await kinds(sessionmaker, user.id)


async def test_wrong_current_passwords_are_throttled(sessionmaker: SM, clock: FrozenClock) -> None:
    user = await sign_up(sessionmaker, clock)
    for _ in range(5):
        with pytest.raises(WrongPassword):
            await service.reauthenticate(Database.joined_to(sessionmaker), PASSWORDS, user_id=user.id, password="guess", origin=WHERE, now=clock())
    with pytest.raises(TooManyAttempts):
        await service.reauthenticate(Database.joined_to(sessionmaker), PASSWORDS, user_id=user.id, password=PASSWORD, origin=WHERE, now=clock())


async def test_wechat_only_account_sets_username_and_password(sessionmaker: SM, clock: FrozenClock) -> None:
    user = await create_user(sessionmaker, clock, username=None, password=None)
    await service.set_password(
        Database.joined_to(sessionmaker),
        PASSWORDS,
        keep_session=None,
        user_id=user.id,
        current_password="",
        new_password=PASSWORD,
        username="WxUser",
        now=clock(),
        origin=WHERE,
    )
    assert (await login(sessionmaker, clock, username="wxuser")).id == user.id


async def test_setting_a_taken_username_changes_nothing(sessionmaker: SM, clock: FrozenClock) -> None:
    await sign_up(sessionmaker, clock, username="taken")
    user = await create_user(sessionmaker, clock, username=None, password=None)
    with pytest.raises(UsernameTaken):
        await service.set_password(
            Database.joined_to(sessionmaker),
            PASSWORDS,
            keep_session=None,
            user_id=user.id,
            current_password="",
            new_password=PASSWORD,
            username="TAKEN",
            now=clock(),
            origin=WHERE,
        )
    async with sessionmaker() as s:
        stored = await s.get(User, user.id)
    assert stored is not None and stored.password_hash is None and stored.username is None


async def test_reauthenticate_refuses_an_account_without_password(sessionmaker: SM, clock: FrozenClock) -> None:
    user = await create_user(sessionmaker, clock, username="wx", password=None)
    with pytest.raises(WrongPassword):
        await service.reauthenticate(Database.joined_to(sessionmaker), PASSWORDS, user_id=user.id, password="anything", origin=WHERE, now=clock())


async def test_login_rehashes_a_cheaper_hash_at_the_sites_cost(sessionmaker: SM, clock: FrozenClock) -> None:
    user = await create_user(sessionmaker, clock)  # hashed at argon2's cheapest cost
    await service.authenticate(
        Database.joined_to(sessionmaker), Passwords(), username="alice", password=PASSWORD, origin=WHERE, now=clock(),
    )
    async with sessionmaker() as s:
        stored = await s.get(User, user.id)
    assert stored is not None and stored.password_hash is not None
    assert not Passwords().needs_rehash(stored.password_hash)  # now at the production cost
    assert Passwords(parameters=CHEAPEST).needs_rehash(stored.password_hash)  # not the cheap one
    assert verify_password(stored.password_hash, PASSWORD)
