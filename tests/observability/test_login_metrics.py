"""The figures move after real logins: password over HTTP, and a WeChat QR login through the simulator.

The calls that move them sit in the login code (webapp.accounts, webapp.wechat), which the core
engineer instruments with webapp.observability.metrics; until then these tests are expected to fail.
"""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient

from tests.accounts.helpers import PASSWORD, AuthActions, prefer_english
from tests.observability.helpers import Samples, scrape, value
from tests.wechat.harness import *  # pytest fixtures (world and its parts) must be module globals
from tests.wechat.harness import World


def moved(before: Samples, after: Samples, name: str, **labels: str) -> float:
    """How much one sample grew between two scrapes."""
    return value(after, name, **labels) - value(before, name, **labels)


@pytest.fixture
def auth(client: TestClient) -> AuthActions:
    prefer_english(client)
    return AuthActions(client)


async def test_password_logins_count_successes_and_failures(client: TestClient, auth: AuthActions) -> None:
    assert (await auth.signup("metrics-alice")).status == 302
    await auth.logout()
    before = await scrape(client)

    assert (await auth.login("metrics-alice", "not the password")).status in (200, 400)
    assert (await auth.login("metrics-alice", PASSWORD)).status == 302

    after = await scrape(client)
    assert moved(before, after, "webapp_logins_total", method="password", outcome="failure") == 1
    assert moved(before, after, "webapp_logins_total", method="password", outcome="success") == 1


async def test_a_throttled_password_login_counts_as_throttled_by_kind(client: TestClient, auth: AuthActions) -> None:
    assert (await auth.signup("metrics-bob")).status == 302
    await auth.logout()
    before = await scrape(client)

    statuses = [(await auth.login("metrics-bob", f"wrong {n}")).status for n in range(6)]

    after = await scrape(client)
    assert statuses[-1] == 429
    assert moved(before, after, "webapp_logins_total", method="password", outcome="throttled") == 1
    assert moved(before, after, "webapp_throttle_rejections_total", kind="login_user") == 1


async def test_a_wechat_qr_login_counts_the_login_its_state_and_its_wechat_calls(world: World) -> None:
    browser = world.browser()
    before = await scrape(world.site)

    response = await browser.qr_login(user=1)

    assert response.status in (302, 303), await response.text()
    after = await scrape(world.site)
    assert moved(before, after, "webapp_logins_total", method="wechat_qr", outcome="success") == 1
    assert moved(before, after, "webapp_oauth_states_total", event="created") == 1
    assert moved(before, after, "webapp_oauth_states_total", event="completed") == 1
    exchange = {"endpoint": "/sns/oauth2/access_token"}
    assert moved(before, after, "webapp_wechat_api_calls_total", errcode="0", **exchange) == 1
    assert moved(before, after, "webapp_wechat_api_duration_seconds_count", **exchange) == 1


async def test_a_cancelled_qr_scan_counts_as_cancelled(world: World) -> None:
    browser = world.browser()
    authorize = await browser.start("/auth/wechat/start?next=/settings")
    before = await scrape(world.site)

    response = await browser.get(f"/auth/wechat/callback?state={_state(authorize)}")  # WeChat sends no code on cancel

    assert response.status < 500
    after = await scrape(world.site)
    assert moved(before, after, "webapp_logins_total", method="wechat_qr", outcome="cancelled") == 1


def _state(authorize_url: str) -> str:
    from tests.wechat.harness import query_of

    return query_of(authorize_url)["state"]
