"""A control character in a form field is a 400 page naming that field, before anything is verified or stored."""

from __future__ import annotations

import pytest

from tests.accounts.helpers import create_user
from tests.hardening.conftest import PASSWORD, CountingPasswords, MakeWorld, table_rows
from tests.wechat.harness import Browser, World

BAD = ["\u0000", "\u001b[31m", "\r\n", "\u0085", "\u007f"]  # (a lone surrogate cannot arrive: forms decode to U+FFFD)


async def posted(browser: Browser, path: str, data: dict[str, str], *, csrf_from: str) -> tuple[int, str]:
    resp = await browser.post(path, data, csrf_from=csrf_from)
    return resp.status, await resp.text()


@pytest.mark.parametrize("bad", BAD, ids=repr)
@pytest.mark.parametrize(("field", "label"), [("username", "Username"), ("password", "Password")])
async def test_a_control_character_in_a_login_field_is_a_400_naming_the_field(
    make_world: MakeWorld, field: str, label: str, bad: str
) -> None:
    passwords = CountingPasswords()
    world = await make_world(passwords=passwords)
    await create_user(world.sm, world.clock, username="alice")
    browser = world.browser()
    data = {"username": "alice", "password": PASSWORD} | {field: f"ali{bad}ce"}

    status, page = await posted(browser, "/login", data, csrf_from="/login")

    assert status == 400 and f"The field “{label}” contains characters that are not allowed" in page
    assert passwords.verified == 0 and (await table_rows(world.sm))["login_failures"] == 0
    assert await browser.me() is None


@pytest.mark.parametrize(("field", "label"), [("username", "Username"), ("password", "Password")])
async def test_a_nul_in_the_i_already_have_an_account_form_is_a_400_naming_the_field(
    make_world: MakeWorld, field: str, label: str
) -> None:
    passwords = CountingPasswords()
    world = await make_world(passwords=passwords)
    await create_user(world.sm, world.clock, username="alice")
    browser = world.browser()
    await browser.follow((await browser.qr_login(user=1)).headers["Location"])
    fresh = await browser.me()
    data = {"username": "alice", "password": PASSWORD} | {field: "al\u0000ice"}

    status, page = await posted(browser, "/auth/wechat/link-existing", data, csrf_from="/auth/wechat/continue")

    assert status == 400 and f"The field “{label}” contains characters that are not allowed" in page
    assert passwords.verified == 0
    assert await browser.me() == fresh  # nothing moved, same session


@pytest.mark.parametrize(
    ("path", "field", "label", "csrf_from"),
    [
        ("/signup", "username", "Username", "/signup"),
        ("/signup", "display_name", "Display name", "/signup"),
        ("/signup", "confirm", "Repeat the new password", "/signup"),
        ("/settings/password", "current_password", "Current password", "/settings"),
        ("/settings/password", "password", "Password", "/settings"),
        ("/settings/reauth", "password", "Password", "/settings/confirm"),
        ("/settings/confirm/wechat", "next", "next", "/settings/confirm"),
    ],
)
async def test_a_nul_in_any_account_form_is_a_400_naming_the_field(
    world: World, path: str, field: str, label: str, csrf_from: str
) -> None:
    browser = world.browser()
    if path != "/signup":
        await browser.signup("bob", PASSWORD)
    data = {"username": "carol", "display_name": "Carol", "password": PASSWORD, "confirm": PASSWORD,
            "current_password": PASSWORD, "next": "/settings"} | {field: "x\u0000y"}
    before = await table_rows(world.sm)

    status, page = await posted(browser, path, data, csrf_from=csrf_from)

    assert status == 400 and f"The field “{label}” contains characters that are not allowed" in page
    assert await table_rows(world.sm) == before
