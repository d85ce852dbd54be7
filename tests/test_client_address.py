"""One client address: the rightmost X-Forwarded-For hop (all lines joined) that is not a trusted proxy."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from multidict import CIMultiDict

from webapp.app import create_app
from webapp.clientinfo import client_ip
from webapp.forwarded import client_address, parse_networks
from webapp.settings import Settings


def walk(peer: str, lines: list[str], trusted: str) -> str:
    networks, bad = parse_networks([t for t in trusted.split(",") if t])
    assert not bad
    return client_address(peer, lines, networks)


@pytest.mark.parametrize(
    ("peer", "lines", "trusted", "expected"),
    [
        # An untrusted peer is the client, whatever it claims.
        ("203.0.113.5", ["10.0.0.1"], "127.0.0.1", "203.0.113.5"),
        ("203.0.113.5", [], "", "203.0.113.5"),
        # A proxy appending its own line: the forged first line never wins.
        ("127.0.0.1", ["10.0.0.1", "203.0.113.9"], "127.0.0.1", "203.0.113.9"),
        ("127.0.0.1", ["10.0.0.1, 127.0.0.1", "203.0.113.9"], "127.0.0.1", "203.0.113.9"),
        # A chain of trusted proxies, named by address and by CIDR.
        ("127.0.0.1", ["198.51.100.1, 203.0.113.9, 10.1.2.3, 172.16.0.4"], "127.0.0.1,10.0.0.0/8,172.16.0.0/12",
         "203.0.113.9"),
        ("10.9.9.9", ["203.0.113.9"], "10.0.0.0/8", "203.0.113.9"),
        # Every hop trusted: the leftmost one walked is the client.
        ("127.0.0.1", ["10.0.0.2, 10.0.0.3"], "127.0.0.1,10.0.0.0/8", "10.0.0.2"),
        ("127.0.0.1", [], "127.0.0.1", "127.0.0.1"),
        # IPv6, bracketed with a port, and IPv4-mapped IPv6 (as a dual-stack listener reports IPv4 peers).
        ("::1", ["2001:db8::1"], "::1", "2001:db8::1"),
        ("::ffff:127.0.0.1", ["2001:DB8:0::7"], "127.0.0.1", "2001:db8::7"),
        ("127.0.0.1", ["::ffff:203.0.113.4"], "127.0.0.1", "203.0.113.4"),
        ("127.0.0.1", ["[2001:db8::1]:443"], "127.0.0.1", "2001:db8::1"),
        ("127.0.0.1", ["203.0.113.4:5678"], "127.0.0.1", "203.0.113.4"),
        ("::1", ["2001:db8:aa::5, fd00::1"], "::1,fd00::/8", "2001:db8:aa::5"),
        ("127.0.0.1", ["10.0.0.9"], "::ffff:10.0.0.0/104,127.0.0.1", "10.0.0.9"),
        # Anything that is not an IP address ends the walk at the last address walked.
        ("127.0.0.1", ["203.0.113.9, unknown"], "127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", ["203.0.113.9, <script>, 10.0.0.2"], "127.0.0.1,10.0.0.0/8", "10.0.0.2"),
        ("127.0.0.1", ["not an ip, 203.0.113.9"], "127.0.0.1", "203.0.113.9"),
        ("127.0.0.1", ["1.2.3.4\x00"], "127.0.0.1", "127.0.0.1"),
        ("127.0.0.1", ["1" * 500], "127.0.0.1", "127.0.0.1"),
        # Empty hops (a stray comma, an empty line) are no hops at all.
        ("127.0.0.1", ["", "203.0.113.9,, "], "127.0.0.1", "203.0.113.9"),
        ("", ["203.0.113.9"], "127.0.0.1", ""),
    ],
)
def test_the_walk(peer: str, lines: list[str], trusted: str, expected: str) -> None:
    assert walk(peer, lines, trusted) == expected


def test_trusted_proxies_are_parsed_once_with_their_cidrs_and_bad_entries_are_reported() -> None:
    settings = Settings.from_env({"TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8, fd00::/8, nginx.local"})

    assert [str(n) for n in settings.trusted_networks] == ["10.0.0.0/8", "127.0.0.1/32", "fd00::/8"]
    assert settings.trusted_networks is settings.trusted_networks
    assert any("TRUSTED_PROXIES entry 'nginx.local'" in p for p in settings.problems())


@pytest.fixture
def site(aiohttp_client: Any, settings: Settings, sessionmaker: Any, clock: Any) -> Any:
    """The site with some settings changed, and a route that shows client_ip."""

    async def show(request: web.Request) -> web.Response:
        return web.Response(text=client_ip(request))

    async def build(**changes: Any) -> TestClient:
        app = create_app(settings.with_(**changes), sessionmaker=sessionmaker, clock=clock)
        app.router.add_get("/_ip", show)
        return await aiohttp_client(app)

    return build


async def test_a_forged_first_line_cannot_read_metrics_behind_a_proxy_that_appends_its_own(site: Any) -> None:
    client = await site(trusted_proxies=frozenset({"127.0.0.0/8"}))
    # The client forges a loopback hop; the proxy (HAProxy's `option forwardfor`) appends its own line.
    forged = CIMultiDict([("X-Forwarded-For", "127.0.0.1"), ("X-Forwarded-For", "203.0.113.7")])

    response = await client.get("/metrics", headers=forged)

    assert response.status == 403
    assert (await client.get("/_ip", headers=forged)).status == 200
    assert await (await client.get("/_ip", headers=forged)).text() == "203.0.113.7"
    # The same proxy forwarding a loopback client: allowed, so the 403 above is the forged line's doing.
    assert (await client.get("/metrics", headers={"X-Forwarded-For": "127.0.0.1"})).status == 200


async def test_an_untrusted_peer_is_its_own_address_whatever_it_forwards(site: Any) -> None:
    client = await site(trusted_proxies=frozenset({"10.0.0.0/8"}), metrics_allow=("203.0.113.0/24",))

    assert await (await client.get("/_ip", headers={"X-Forwarded-For": "203.0.113.7"})).text() == "127.0.0.1"
    assert (await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})).status == 403


async def test_a_trusted_proxy_named_by_cidr_is_believed(site: Any) -> None:
    client = await site(trusted_proxies=frozenset({"127.0.0.0/8"}), metrics_allow=("203.0.113.0/24",))

    assert (await client.get("/metrics", headers={"X-Forwarded-For": "203.0.113.7"})).status == 200


async def test_the_request_id_is_believed_only_from_a_trusted_peer(site: Any) -> None:
    trusted = await site(trusted_proxies=frozenset({"127.0.0.0/8"}))
    untrusted = await site(trusted_proxies=frozenset({"10.0.0.0/8"}))

    assert (await trusted.get("/healthz", headers={"X-Request-ID": "abc-123"})).headers["X-Request-ID"] == "abc-123"
    assert (await untrusted.get("/healthz", headers={"X-Request-ID": "abc-123"})).headers["X-Request-ID"] != "abc-123"
