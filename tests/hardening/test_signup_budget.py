"""Sign-ups are bounded by a site-wide budget, never by the client address (a campus or a NAT shares one)."""

from __future__ import annotations

from tests.hardening.conftest import PASSWORD, MakeWorld


async def test_many_newcomers_behind_one_address_all_sign_up(make_world: MakeWorld) -> None:
    world = await make_world()
    for n in range(25):  # the old per-address limit refused the eleventh
        browser = world.browser()
        await browser.signup(f"newcomer{n}", PASSWORD)
        assert (await browser.me() or {}).get("username") == f"newcomer{n}"


async def test_past_the_sites_hourly_budget_a_sign_up_is_a_clear_429(make_world: MakeWorld) -> None:
    world = await make_world(signup_budget=3)
    for n in range(3):
        await world.browser().signup(f"early{n}", PASSWORD)
    late = world.browser()
    token = await late.csrf("/signup")
    resp = await late.site.post(
        "/signup", data={"csrf_token": token, "username": "late", "password": PASSWORD, "confirm": PASSWORD},
        headers=late.headers, allow_redirects=False,
    )
    assert resp.status == 429 and "Traceback" not in await resp.text()
    assert await late.me() is None
