"""WeChat login, binding and re-authentication rules (social-core style); the database is the final guard.

Rules, each tested:
- a known (appid, openid) logs its user in; a known unionid links a new openid to its user;
- an unknown official-account openid without unionid (snsapi_base) steps up to snsapi_userinfo;
- a snapshot-page user (is_snapshotuser=1) is never stored or linked;
- an unknown person gets a new account (display name and avatar from the profile, no password);
- a disabled account is never logged in;
- binding: already bound to this user → no-op; to another user (openid or unionid) → conflict;
  this user already has another identity for the app or another unionid → conflict;
- re-authentication proves a WeChat identity (or unionid) already bound to *this* user, nothing else;
- inserts rely on the unique constraints; on a violation the rules are applied again.

A returning user's login is one statement (see logins.py); everything else is a short transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

import asyncpg

from webapp import events
from webapp.avatars import store as avatar_store
from webapp.crypto import TokenCipher
from webapp.db import Database
from webapp.sessions import SessionDraft
from webapp.wechat import logins
from webapp.wechat.errors import MalformedResponse
from webapp.wechat.grants import Grant, ProfileFetcher
from webapp.wechat.outcome import Outcome
from webapp.wechat.schemas import WeChatApp

log = logging.getLogger("webapp.wechat")
PROFILE_MAX_AGE = timedelta(days=1)  # a returning login reads the profile again only when it is this old
_ATTEMPTS = 3
_RACES = (asyncpg.UniqueViolationError, asyncpg.ForeignKeyViolationError)


@dataclass(frozen=True)
class Actor:
    """Where a request came from, for the security log."""

    client: str
    ip: str
    method: str


async def login(
    db: Database,
    cipher: TokenCipher,
    app: WeChatApp,
    grant: Grant,
    *,
    actor: Actor,
    now: datetime,
    state: str | None = None,
    fetch_profile: ProfileFetcher | None = None,
    session: SessionDraft | None = None,
    consent_url: str | None = None,
) -> Outcome:
    """Log in the person behind `grant`, linking by unionid or creating an account; record it with `state`.

    consent_url: the privacy policy a new account accepts by this login (the login page said so beside it).

    A returning person is logged in without asking WeChat for the profile again unless the stored one
    is a day old; a new person's profile is read first (their account is named after it).
    """
    values = logins.GrantValues.of(cipher, app, grant, now=now, consent_url=consent_url)
    async with db.connection() as conn:
        account = await logins.returning_login(conn, values, actor=actor, state=state, session=session)
    if account is not None:
        if fetch_profile is not None and _stale(account["profile_synced_at"], now):
            try:
                fresh = await fetch_profile(grant)
            except MalformedResponse:  # logged in already; a contradictory profile is simply not stored
                log.warning("app %s: a returning login's profile contradicts its token; not stored", app.appid)
                fresh = grant
            if fresh.profile is not None:
                async with db.connection() as conn:
                    await logins.store_profile(conn, logins.GrantValues.of(cipher, app, fresh, now=now), account["id"])
        return Outcome("login", user_id=account["id"], account=_account_fields(account), session=session)
    if fetch_profile is not None:
        grant = await fetch_profile(grant)
        values = logins.GrantValues.of(cipher, app, grant, now=now, consent_url=consent_url)
    if not (app.kind == "official_account" and grant.unionid is None and _base_scope_only(grant)):
        async with db.connection() as conn:
            try:
                created = await logins.create_person(conn, values, actor=actor, state=state, session=session)
            except _RACES:  # someone else is logging the same person in: the rules settle it below
                created = None
        if created is not None:
            return Outcome(
                "login", user_id=created["id"], created=True, account=_account_fields(created), session=session
            )
    async def apply(conn: asyncpg.Connection) -> Outcome:
        outcome = await _login(conn, app, values, grant, actor=actor, now=now)
        if state is not None:
            await logins.save_result(conn, state, outcome)
        if session is not None and outcome.kind == "login" and outcome.user_id is not None:
            await logins.insert_session(conn, session, outcome.user_id, actor=actor, now=now)
            outcome = replace(outcome, session=session)
        return outcome

    return await _settled(db, apply, f"first login for app {app.appid}")


async def _settled(db: Database, apply: Callable[[asyncpg.Connection], Awaitable[Outcome]], what: str) -> Outcome:
    """`apply` in a transaction, again while a concurrent login or bind races it to the same rows."""
    async with db.connection() as conn:
        for _attempt in range(_ATTEMPTS):
            try:
                async with conn.transaction():
                    return await apply(conn)
            except _RACES:
                log.info("concurrent %s; applying the rules again", what)
    return Outcome("failed", reason="conflict_retry")


async def logged_in_account(db: Database, outcome: Outcome) -> dict[str, object] | None:
    """A login's account fields: as the login loaded them, or again for a repeated delivery (None if disabled)."""
    if outcome.account is not None:
        return outcome.account
    if outcome.user_id is None:
        return None
    async with db.connection() as conn:
        return await logins.enabled_account(conn, outcome.user_id)


def _stale(synced: datetime | None, now: datetime) -> bool:
    return synced is None or synced <= now - PROFILE_MAX_AGE


def _account_fields(row: asyncpg.Record) -> dict[str, object]:
    return {k: row[k] for k in ("id", "username", "display_name", "has_password", "created_at")}


async def _login(
    conn: asyncpg.Connection, app: WeChatApp, values: logins.GrantValues, grant: Grant, *, actor: Actor, now: datetime
) -> Outcome:
    identity = await logins.identity_for_update(conn, app.appid, grant.openid)
    if identity is not None:
        if identity["disabled"]:
            return Outcome("failed", reason="disabled")
        await logins.update_identity(conn, identity, values)
        user_id = identity["user_id"]
        created = False
    else:
        union = await logins.union_owner(conn, grant.unionid) if grant.unionid else None
        if union is not None:
            if union["disabled"]:
                return Outcome("failed", reason="disabled")
            user_id, created = union["user_id"], False
            await logins.insert_identity(conn, user_id, values, unionid=grant.unionid)
        elif app.kind == "official_account" and grant.unionid is None and _base_scope_only(grant):
            return Outcome("need_userinfo")
        else:
            user_id, created = await logins.create_account(conn, values, unionid=grant.unionid), True
    await events.add_event(conn, **_event(user_id, "login", actor, now))
    account = await logins.account(conn, user_id)
    return Outcome("login", user_id=user_id, created=created, account=account)


def _base_scope_only(grant: Grant) -> bool:
    return grant.token is not None and "snsapi_userinfo" not in grant.token.scope.split(",")


async def bind(
    db: Database,
    cipher: TokenCipher,
    app: WeChatApp,
    grant: Grant,
    *,
    user_id: int,
    actor: Actor,
    now: datetime,
    state: str | None = None,
) -> Outcome:
    """Attach the WeChat identity behind `grant` to an existing user, or explain the conflict."""
    values = logins.GrantValues.of(cipher, app, grant, now=now)

    async def apply(conn: asyncpg.Connection) -> Outcome:
        outcome = await _bind(conn, app, values, grant, user_id=user_id)
        if outcome.kind == "bound":
            await events.add_event(conn, **_event(user_id, "bind", actor, now))
        if state is not None:
            await logins.save_result(conn, state, outcome)
        return outcome

    return await _settled(db, apply, f"bind for app {app.appid}")


async def _bind(
    conn: asyncpg.Connection, app: WeChatApp, values: logins.GrantValues, grant: Grant, *, user_id: int
) -> Outcome:
    if not await _account_held(conn, user_id):
        return Outcome("failed", reason="account_gone")
    identity = await logins.identity_for_update(conn, app.appid, grant.openid)
    if identity is not None:
        if identity["user_id"] != user_id:
            return Outcome("conflict", user_id=user_id, other_user_id=identity["user_id"])
        await logins.update_identity(conn, identity, values)
        return Outcome("already_bound", user_id=user_id)
    union = await logins.union_owner(conn, grant.unionid) if grant.unionid else None
    if union is not None and union["user_id"] != user_id:
        return Outcome("conflict", user_id=user_id, other_user_id=union["user_id"])
    own = await logins.wechat_of(conn, user_id)
    if app.appid in own["appids"] or (grant.unionid and any(u != grant.unionid for u in own["unionids"])):
        return Outcome("conflict", user_id=user_id, reason="other_identity")
    if grant.unionid and union is None:
        await logins.add_union(conn, grant.unionid, user_id, now=values.now)
    await logins.insert_identity(conn, user_id, values, unionid=grant.unionid)
    return Outcome("bound", user_id=user_id)


async def reauthenticate(
    db: Database,
    cipher: TokenCipher,
    app: WeChatApp,
    grant: Grant,
    *,
    user_id: int,
    actor: Actor,
    now: datetime,
    state: str | None = None,
) -> Outcome:
    """A scan proves who the user is only if it is a WeChat already bound to *this* account."""
    values = logins.GrantValues.of(cipher, app, grant, now=now)
    async with db.connection() as conn, conn.transaction():
        held = await _account_held(conn, user_id)
        identity = await logins.identity_for_update(conn, app.appid, grant.openid)
        own = await logins.wechat_of(conn, user_id)
        if not held:
            outcome = Outcome("failed", reason="account_gone")
        elif identity is not None and identity["user_id"] == user_id:
            await logins.update_identity(conn, identity, values)
            outcome = Outcome("reauthenticated", user_id=user_id)
        elif identity is None and grant.unionid is not None and grant.unionid in own["unionids"]:
            outcome = Outcome("reauthenticated", user_id=user_id)  # the same person through the other app
        else:
            outcome = Outcome("failed", user_id=user_id, reason="reauth_other_wechat")
        if outcome.kind == "reauthenticated":
            await events.add_event(conn, **_event(user_id, "reauth", actor, now))
        if state is not None:
            await logins.save_result(conn, state, outcome)
    return outcome


async def merge_fresh_account(
    db: Database, *, fresh_user_id: int, into_user_id: int, actor: Actor, now: datetime
) -> Outcome:
    """"I already have an account": move a just-created WeChat-only account's identities, then delete it."""
    async with db.connection() as conn, conn.transaction():
        fresh = await conn.fetchrow(
            "SELECT password_hash IS NULL AS empty FROM users WHERE id = $1 FOR UPDATE", fresh_user_id
        )
        if fresh is None or not fresh["empty"] or fresh_user_id == into_user_id:
            return Outcome("failed", reason="merge_unavailable")
        moving, target = await logins.wechat_of(conn, fresh_user_id), await logins.wechat_of(conn, into_user_id)
        if moving["appids"] & target["appids"] or (moving["unionids"] and target["unionids"]):
            return Outcome("conflict", user_id=into_user_id, reason="other_identity")
        await logins.move_wechat(conn, from_user_id=fresh_user_id, to_user_id=into_user_id)
        await conn.execute("DELETE FROM users WHERE id = $1", fresh_user_id)
        await events.add_event(conn, **_event(into_user_id, "bind", actor, now))
    return Outcome("bound", user_id=into_user_id)


class LastLoginMethod(Exception):
    """Unbinding would leave the account with no way to log in."""


async def unbind(db: Database, *, user_id: int, actor: Actor, now: datetime) -> int:
    """Remove every WeChat identity of a user, and the picture copied from WeChat (one the person uploaded, or
    chose to keep, stays); refuse when it is their last way to log in."""
    async with db.connection() as conn, conn.transaction():
        has_password = await conn.fetchval(
            "SELECT password_hash IS NOT NULL FROM users WHERE id = $1 FOR UPDATE", user_id
        )
        if has_password is None:
            return 0
        if not has_password:
            raise LastLoginMethod()
        removed = await logins.delete_wechat(conn, user_id)
        if removed:
            await avatar_store.remove(conn, user_id=user_id, uploaded_too=False)
            await events.add_event(conn, **_event(user_id, "unbind", actor, now))
    return removed


async def _account_held(conn: asyncpg.Connection, user_id: int) -> bool:
    """Lock the account against deletion until commit; False when it is already gone (no check-then-act)."""
    # KEY SHARE: what the foreign keys below take anyway, only earlier; it waits for a deletion, not an UPDATE.
    return await conn.fetchval("SELECT true FROM users WHERE id = $1 FOR KEY SHARE", user_id) is not None


def _event(user_id: int, kind: str, actor: Actor, now: datetime) -> dict[str, object]:
    return {"user_id": user_id, "kind": kind, "method": actor.method, "client": actor.client, "ip": actor.ip,
            "now": now}
