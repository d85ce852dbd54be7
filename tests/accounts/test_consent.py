"""Privacy consent: with PRIVACY_URL set, sign-up needs the box ticked and records when and to which policy;
the export carries it; the login page says what a first WeChat scan means; without a policy nothing changes."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from tests.accounts.helpers import SM, AuthActions
from webapp.app import create_app
from webapp.clock import FrozenClock
from webapp.models import User
from webapp.settings import Settings, WeChatAppConfig

PRIVACY = "https://www.example.com/privacy"
TERMS = "https://www.example.com/terms"


@pytest.fixture
async def with_policy(aiohttp_client, settings: Settings, sessionmaker: SM, clock: FrozenClock) -> AuthActions:  # type: ignore[no-untyped-def]
    """The site with a privacy policy and terms, read in English."""
    app = create_app(settings.with_(privacy_url=PRIVACY, terms_url=TERMS, site_name="Lotus Tea",
                                    wechat_web=WeChatAppConfig("wx0123456789abcdef", "secret")),
                     sessionmaker=sessionmaker, clock=clock)
    client: TestClient = await aiohttp_client(app, headers={"Accept-Language": "en"})
    return AuthActions(client)


async def the_user(sessionmaker: SM) -> User:
    async with sessionmaker() as s:
        return (await s.scalars(select(User))).one()


async def test_sign_up_needs_the_box_ticked_then_records_time_and_policy(
    with_policy: AuthActions, sessionmaker: SM, clock: FrozenClock
) -> None:
    page = await (await with_policy.client.get("/signup")).text()
    assert 'name="consent"' in page and f'href="{PRIVACY}"' in page and f'href="{TERMS}"' in page
    assert "<title>Sign up · Lotus Tea</title>" in page

    refused = await with_policy.signup("alice")
    body = await refused.text()
    assert refused.status == 400 and "To create an account, agree to the privacy policy." in body
    assert 'id="field-consent" name="consent" type="checkbox" value="yes" required aria-invalid="true"' in body
    async with sessionmaker() as s:
        assert (await s.scalars(select(User))).first() is None

    assert (await with_policy.signup("alice", consent="yes")).status == 302
    user = await the_user(sessionmaker)
    assert (user.privacy_consent_at, user.privacy_consent_url) == (clock(), PRIVACY)
    export = await (await with_policy.client.get("/settings/export")).json()
    assert export["profile"]["privacy_consent"] == {"at": clock().strftime("%Y-%m-%dT%H:%M:%SZ"), "policy_url": PRIVACY}


async def test_every_page_links_the_policy_and_the_login_page_says_what_scanning_means(
    with_policy: AuthActions,
) -> None:
    for path in ("/", "/login", "/no/such/page"):
        assert f'href="{PRIVACY}"' in await (await with_policy.client.get(path)).text(), path
    login = await (await with_policy.client.get("/login")).text()
    assert 'id="wechat-qr"' in login and 'id="wechat-consent"' in login
    assert "By scanning (or tapping) you agree to our privacy policy." in login


async def test_without_a_policy_there_is_no_box_and_nothing_is_recorded(
    client: TestClient, sessionmaker: SM
) -> None:
    auth = AuthActions(client)
    assert 'name="consent"' not in await (await client.get("/signup")).text()
    assert (await auth.signup("bob")).status == 302
    user = await the_user(sessionmaker)
    assert user.privacy_consent_at is None and user.privacy_consent_url is None
    assert (await (await client.get("/settings/export")).json())["profile"]["privacy_consent"] is None


def test_a_policy_address_must_be_http(settings: Settings) -> None:
    assert any("PRIVACY_URL" in p for p in settings.with_(privacy_url="javascript:alert(1)").problems())
    assert not any("TERMS_URL" in p for p in settings.with_(terms_url=TERMS).problems())
