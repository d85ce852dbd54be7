"""GET /metrics: Prometheus text to METRICS_ALLOW addresses only, labels from fixed sets, never a path."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from tests.observability.helpers import parse, scrape, value
from webapp import keys
from webapp.app import create_app
from webapp.keys import db_key
from webapp.observability import metrics
from webapp.settings import Settings

CLIENT = "203.0.113.7"  # documentation range: nothing real


@pytest.fixture
def site(aiohttp_client: Any, settings: Settings, sessionmaker: Any, clock: Any) -> Any:
    """Build the site with some settings changed, served on loopback."""

    async def build(**changes: Any) -> TestClient:
        return await aiohttp_client(create_app(settings.with_(**changes), sessionmaker=sessionmaker, clock=clock))

    return build


async def test_loopback_reads_prometheus_text(client: TestClient) -> None:
    healthz = {"route": "healthz", "method": "GET", "status": "2xx"}
    before = value(await scrape(client), "webapp_http_requests_total", **healthz)  # counters are process-wide
    await client.get("/healthz")

    response = await client.get("/metrics")

    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.headers["Cache-Control"] == "no-store"
    samples = parse(await response.text())
    assert value(samples, "webapp_http_requests_total", **healthz) == before + 1


async def test_a_client_behind_the_proxy_outside_metrics_allow_gets_403(site: Any) -> None:
    # Behind nginx the peer is always loopback, which the default METRICS_ALLOW allows: the client's address decides.
    client = await site(trusted_proxies=frozenset({"127.0.0.1"}))

    response = await client.get("/metrics", headers={"X-Forwarded-For": CLIENT})

    assert response.status == 403
    assert "webapp_" not in await response.text()


async def test_a_client_behind_the_proxy_inside_metrics_allow_reads_them(site: Any) -> None:
    client = await site(trusted_proxies=frozenset({"127.0.0.1"}), metrics_allow=("10.0.0.0/8",))

    assert (await client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})).status == 200
    assert (await client.get("/metrics", headers={"X-Forwarded-For": CLIENT})).status == 403
    assert (await client.get("/metrics")).status == 403  # the proxy itself is not in METRICS_ALLOW


async def test_x_forwarded_for_from_an_untrusted_peer_is_ignored(site: Any) -> None:
    client = await site(metrics_allow=("10.0.0.0/8",))

    assert (await client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})).status == 403


async def test_an_unparsable_metrics_allow_entry_allows_nobody(site: Any) -> None:
    client = await site(metrics_allow=("not-a-network",))

    assert (await client.get("/metrics")).status == 403


async def test_requests_are_counted_by_route_name_never_by_path(client: TestClient) -> None:
    before = await scrape(client)
    await client.get("/no/such/page-7f3a%0A")
    await client.get("/healthz")

    after = await scrape(client)

    unmatched = {"route": "unmatched", "method": "GET", "status": "4xx"}
    assert (
        value(after, "webapp_http_requests_total", **unmatched)
        == value(before, "webapp_http_requests_total", **unmatched) + 1
    )
    healthz = {"route": "healthz", "method": "GET", "status": "2xx"}
    assert value(after, "webapp_http_requests_total", **healthz) == value(before, "webapp_http_requests_total", **healthz) + 1
    assert not [key for key in after if any("7f3a" in v for _, v in key[1])]


async def test_unusual_methods_and_label_values_count_as_other(client: TestClient) -> None:
    before = await scrape(client)
    await client.request("PROPFIND", "/login")
    metrics.login("password", "<script>")
    metrics.throttled("x" * 500)

    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("webapp_http_requests_total", route="unmatched", method="other", status="4xx") == 1
    assert moved("webapp_logins_total", method="password", outcome="other") == 1
    assert moved("webapp_throttle_rejections_total", kind="other") == 1


async def test_the_core_api_moves_its_metrics(client: TestClient) -> None:
    before = await scrape(client)
    metrics.login("wechat_mp", "success")
    metrics.wechat_call("/sns/userinfo", 0, 0.2)
    metrics.wechat_call("/sns/oauth2/access_token", "transport", 10.0)
    metrics.refresh("refreshed", 3)
    metrics.refresh("failed", 0)
    metrics.oldest_overdue(125.0)
    metrics.oauth_state("expired", 4)
    metrics.throttled("flow_start")

    after = await scrape(client)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("webapp_logins_total", method="wechat_mp", outcome="success") == 1
    assert moved("webapp_wechat_api_calls_total", endpoint="/sns/userinfo", errcode="0") == 1
    assert moved("webapp_wechat_api_calls_total", endpoint="/sns/oauth2/access_token", errcode="transport") == 1
    assert moved("webapp_wechat_api_duration_seconds_count", endpoint="/sns/oauth2/access_token") == 1
    assert moved("webapp_wechat_api_duration_seconds_bucket", endpoint="/sns/userinfo", le="0.25") == 1
    assert moved("webapp_refresh_total", outcome="refreshed") == 3
    assert moved("webapp_refresh_total", outcome="failed") == 0
    assert value(after, "webapp_refresh_oldest_overdue_seconds") == 125.0
    assert moved("webapp_oauth_states_total", event="expired") == 4
    assert moved("webapp_throttle_rejections_total", kind="flow_start") == 1


@pytest.fixture
async def pooled_site(aiohttp_client: Any, settings: Settings, database_url: str) -> TestClient:
    """The site on its own pools (as in production), not on the test's one connection."""
    return await aiohttp_client(create_app(settings.with_(database_url=database_url)))


async def test_the_sqlalchemy_pool_of_the_site_is_reported(pooled_site: TestClient) -> None:
    async with pooled_site.app[db_key]() as session:  # type: ignore[index]
        await session.execute(text("SELECT 1"))

    samples = await scrape(pooled_site)

    assert value(samples, "webapp_db_pool_connections", pool="sqlalchemy", state="idle") >= 1
    assert value(samples, "webapp_db_pool_connections", pool="sqlalchemy", state="in_use") == 0


async def test_the_asyncpg_pool_of_the_hot_paths_is_reported(pooled_site: TestClient) -> None:
    db = pooled_site.app[keys.database_key]
    assert db.pool is not None  # opened at start-up
    assert (await pooled_site.get("/healthz")).status == 200

    samples = await scrape(pooled_site)

    # Idle: the pool's own idle connections and the read lane's (webapp.readlane), as Database.pool_usage counts them.
    idle = db.pool.get_idle_size() + len(db.lane.idle)
    assert value(samples, "webapp_db_pool_connections", pool="asyncpg", state="idle") == idle >= 1
    assert value(samples, "webapp_db_pool_connections", pool="asyncpg", state="in_use") == 0


async def test_a_watched_pool_is_summed_and_dropped_to_zero_when_unwatched(client: TestClient) -> None:
    unwatch = metrics.watch_pool(lambda: (2, 3), pool="asyncpg")
    other = metrics.watch_pool(lambda: (1, 0), pool="asyncpg")
    summed = await scrape(client)
    unwatch()
    other()

    gone = await scrape(client)

    assert value(summed, "webapp_db_pool_connections", pool="asyncpg", state="in_use") == 3
    assert value(summed, "webapp_db_pool_connections", pool="asyncpg", state="idle") == 3
    assert value(gone, "webapp_db_pool_connections", pool="asyncpg", state="in_use") == 0
