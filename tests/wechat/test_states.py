"""webapp.wechat.states on its own: what a state carries, what breaks it, and the claim's single use."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tests.conftest import T0
from webapp.db import Database
from webapp.wechat import states
from webapp.wechat.states import STATE_TTL, StateSigner

BINDING = "b" * 43
SIGNER = StateSigner("a secret key that is long enough for the tests")


@pytest.mark.parametrize("flow", ["qr", "embedded", "mp_base", "mp_userinfo"])
def test_a_state_fits_wechats_rule_and_reads_back_with_its_flow_and_expiry(flow: states.Flow) -> None:
    state = SIGNER.issue(flow, binding=BINDING, now=T0)
    assert states.is_well_formed(state) and len(state) <= 128
    ticket = SIGNER.read(state)
    assert ticket is not None and ticket.flow == flow and ticket.state == state
    assert ticket.expires_at == T0 + STATE_TTL and len(ticket.key) == states.KEY_LENGTH
    assert not ticket.expired(T0 + STATE_TTL - timedelta(seconds=1)) and ticket.expired(T0 + STATE_TTL)
    assert SIGNER.bound_to(ticket, BINDING)


def test_states_are_unique_and_reveal_no_purpose_account_or_path() -> None:
    made = {SIGNER.issue("qr", binding=BINDING, now=T0) for _ in range(200)}
    assert len(made) == 200
    assert all("settings" not in s and "login" not in s for s in made)


def test_another_browser_or_no_binding_is_not_bound() -> None:
    ticket = SIGNER.read(SIGNER.issue("qr", binding=BINDING, now=T0))
    assert ticket is not None
    assert not SIGNER.bound_to(ticket, "c" * 43)
    assert not SIGNER.bound_to(ticket, None) and not SIGNER.bound_to(ticket, "")


def test_every_changed_character_is_refused() -> None:
    state = SIGNER.issue("qr", binding=BINDING, now=T0)
    for i, ch in enumerate(state):
        other = "0" if ch != "0" else "1"
        forged = state[:i] + other + state[i + 1:]
        ticket = SIGNER.read(forged)
        # The issuing MAC covers flow, key and expiry; the browser MAC is checked against the binding.
        assert ticket is None or not SIGNER.bound_to(ticket, BINDING), (i, forged)


def test_another_sites_key_or_a_longer_expiry_is_refused() -> None:
    state = SIGNER.issue("mp_base", binding=BINDING, now=T0)
    assert StateSigner("another site's secret key, also long enough").read(state) is None
    later = state[:23] + "zzzzzzz" + state[30:]  # an expiry far in the future, same MACs
    assert SIGNER.read(later) is None
    as_qr = "q" + state[1:]  # the same state claiming another flow
    assert SIGNER.read(as_qr) is None


@pytest.mark.parametrize("junk", ["", "a", "q" * 94, "x" + "A" * 93, "Q" + "A" * 93, "q" + "A" * 200, "q\x00" + "A" * 92])
def test_junk_is_not_a_ticket(junk: str) -> None:
    assert SIGNER.read(junk) is None


async def _db(sessionmaker: async_sessionmaker[AsyncSession]) -> Database:
    return Database.joined_to(sessionmaker)


async def test_the_first_claim_owns_the_exchange_a_repeat_sees_it_and_another_code_is_a_replay(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    db = await _db(sessionmaker)
    ticket = SIGNER.read(SIGNER.issue("qr", binding=BINDING, now=T0))
    assert ticket is not None
    args = {"purpose": "login", "appid": "wxapp", "next_path": "/settings", "now": T0}
    async with db.connection() as conn:
        first = await states.claim(conn, ticket, code="code-1", **args)  # type: ignore[arg-type]
        again = await states.claim(conn, ticket, code="code-1", **args)  # type: ignore[arg-type]
        other = await states.claim(conn, ticket, code="code-2", **args)  # type: ignore[arg-type]
    assert (first.kind, again.kind, other.kind) == ("owner", "same_code", "replayed")
    assert first.row.next_path == "/settings" and first.row.purpose == "login" and first.row.result is None
    assert await states.wait_result(db, ticket.key, timeout_s=0) is None  # still working, nothing yet

    async with db.connection() as conn:
        await states.save_result(conn, ticket.key, {"kind": "login", "user_id": 7})
    assert await states.wait_result(db, ticket.key, timeout_s=0) == {"kind": "login", "user_id": 7}


async def test_a_released_claim_leaves_no_row_and_the_next_delivery_owns_it_again(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    db = await _db(sessionmaker)
    ticket = SIGNER.read(SIGNER.issue("mp_base", binding=BINDING, now=T0))
    assert ticket is not None
    args = {"purpose": "login", "appid": "wxmp", "next_path": "/", "now": T0, "code": "junk"}
    async with db.connection() as conn:
        assert (await states.claim(conn, ticket, **args)).kind == "owner"  # type: ignore[arg-type]
        await states.release(conn, ticket.key)
        assert await conn.fetchval("SELECT count(*) FROM oauth_states WHERE state = $1", ticket.key) == 0
    assert await states.wait_result(db, ticket.key, timeout_s=0) == "gone"
    async with db.connection() as conn:
        assert (await states.claim(conn, ticket, **args)).kind == "owner"  # type: ignore[arg-type]


async def test_an_embedded_result_is_handed_to_the_top_window_once(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    db = await _db(sessionmaker)
    ticket = SIGNER.read(SIGNER.issue("embedded", binding=BINDING, now=T0))
    assert ticket is not None
    async with db.connection() as conn:
        assert await states.take_handoff(conn, ticket.key) == ("missing", None)
        await states.claim(conn, ticket, purpose="login", appid="wx", next_path="/", code="c", now=T0)
        assert await states.take_handoff(conn, ticket.key) == ("working", None)
        await states.save_result(conn, ticket.key, {"kind": "login", "user_id": 3})
        taken, result = await states.take_handoff(conn, ticket.key)
        assert taken == "ok" and result["user_id"] == 3
        assert (await states.take_handoff(conn, ticket.key))[0] == "used"


@pytest.mark.parametrize("odd", ["has-dash", "with space", "Ünïcödé", "a" * 129, "", None])
def test_only_wechats_state_alphabet_is_well_formed(odd: str | None) -> None:
    assert not states.is_well_formed(odd)


def test_a_binding_that_is_not_ascii_is_simply_not_this_browser() -> None:
    ticket = SIGNER.read(SIGNER.issue("qr", binding=BINDING, now=T0))
    assert ticket is not None and not SIGNER.bound_to(ticket, "ü" * 43)  # never an exception


async def test_a_second_delivery_waits_for_the_first_ones_result(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    db = await _db(sessionmaker)
    ticket = SIGNER.read(SIGNER.issue("qr", binding=BINDING, now=T0))
    assert ticket is not None
    async with db.connection() as conn:
        await states.claim(conn, ticket, purpose="login", appid="wx", next_path="/", code="c", now=T0)
    waiting = asyncio.create_task(states.wait_result(db, ticket.key, timeout_s=30))
    await asyncio.sleep(0)  # let the second delivery find the claim still working
    assert not waiting.done()
    async with db.connection() as conn:
        await states.save_result(conn, ticket.key, {"kind": "login", "user_id": 9})
    assert await waiting == {"kind": "login", "user_id": 9}
