"""X-Request-ID: made for every request, taken from a trusted proxy only when it looks like an id."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from webapp.app import create_app
from webapp.settings import Settings

GENERATED = re.compile(r"[0-9a-f]{32}")


@pytest.fixture
async def behind_proxy(aiohttp_client: Any, settings: Settings, sessionmaker: Any, clock: Any) -> TestClient:
    """The site whose peer (loopback, the test client) is a trusted proxy."""
    app = create_app(settings.with_(trusted_proxies=frozenset({"127.0.0.1"})), sessionmaker=sessionmaker, clock=clock)
    return await aiohttp_client(app)


@pytest.mark.parametrize("path", ["/healthz", "/no/such/page", "/static/css/site.css", "/metrics"])
async def test_every_response_carries_a_fresh_request_id(client: TestClient, path: str) -> None:
    first = await client.get(path, allow_redirects=False)
    second = await client.get(path, allow_redirects=False)

    assert GENERATED.fullmatch(first.headers["X-Request-ID"])
    assert first.headers["X-Request-ID"] != second.headers["X-Request-ID"]


async def test_a_redirect_carries_it_too(client: TestClient) -> None:
    response = await client.get("/settings", allow_redirects=False)

    assert response.status == 302
    assert GENERATED.fullmatch(response.headers["X-Request-ID"])


async def test_the_id_of_a_trusted_proxy_is_kept(behind_proxy: TestClient) -> None:
    response = await behind_proxy.get("/healthz", headers={"X-Request-ID": "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"})

    assert response.headers["X-Request-ID"] == "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"


async def test_an_id_from_an_untrusted_peer_is_replaced(client: TestClient) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": "chosen-by-the-client"})

    assert GENERATED.fullmatch(response.headers["X-Request-ID"])


@pytest.mark.parametrize("given", ["a" * 129, "has space", "semi;colon", 'quote"d', "-leading-dash", "ünïcode"])
async def test_an_id_that_does_not_look_like_one_is_replaced_even_from_the_proxy(
    behind_proxy: TestClient, given: str
) -> None:
    response = await behind_proxy.get("/healthz", headers={"X-Request-ID": given.encode().decode("latin-1")})

    assert GENERATED.fullmatch(response.headers["X-Request-ID"])
