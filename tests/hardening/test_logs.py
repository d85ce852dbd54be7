"""Logs can be trusted: every value from outside is escaped, and SQL errors never write the row's values.

tests/observability already runs the production access logger for a forged newline in a query value
(JSON) and for masked secrets. Here the same real logger (MaskedAccessLogger on a real server) meets
control characters in the path, in query names and values and in a trusted proxy's X-Forwarded-For,
checked on the records themselves (escaped before any formatter sees them) and through both of the
site's formatters. Then a real unique violation on a path that logs it.
"""

from __future__ import annotations

import json
import logging
import unicodedata
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import text
from yarl import URL

from tests.hardening.conftest import PASSWORD
from tests.wechat.harness import Browser, World
from webapp import accesslog
from webapp.app import create_app
from webapp.observability.logs import JsonFormatter, RequestContextFilter, TextFormatter

FORGED_PATH = "/healthz%0A2026-01-01%20CRITICAL%20forged%1B%5B31m%E2%80%AE%00"
FORGED_QUERY = "%0Anext%1B=%0D%0Avalue%E2%81%A6%C2%85&ok=%E5%BC%A0%E4%BC%9F%F0%9F%8C%B8"
FORGED_HOP = "203.0.\x85113.9\u202e\x9b[31m\t"  # what a client may put in a header: C1 controls, bidi, tab


def unsafe(value: str) -> list[str]:
    """Characters that could forge a line or reorder a terminal (emoji joiners excepted)."""
    return [ch for ch in value if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp") and ch not in "\u200c\u200d"]


class Records(logging.Handler):
    """Every record the root logger sees while the test runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.addFilter(RequestContextFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def site(self) -> list[logging.LogRecord]:
        """The site's records (not the simulator's, which runs in this process for the tests)."""
        return [r for r in self.records if r.name.startswith("webapp") and not r.name.startswith("webapp.wechat_sim")]


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
async def site(aiohttp_client: Any, wechat_settings: Any, sessionmaker: Any, clock: Any) -> TestClient:
    """The site behind a trusted proxy, served with the production access logger."""
    settings = wechat_settings.with_(trusted_proxies=frozenset({"127.0.0.1"}))
    server = TestServer(create_app(settings, sessionmaker=sessionmaker, clock=clock))
    await server.start_server(access_log_class=accesslog.MaskedAccessLogger, access_log=accesslog.logger)
    return await aiohttp_client(server)


async def test_every_value_of_the_access_line_is_escaped_before_any_formatter_sees_it(
    site: TestClient, records: Records
) -> None:
    resp = await site.get(URL(f"{FORGED_PATH}?{FORGED_QUERY}", encoded=True), headers={"X-Forwarded-For": FORGED_HOP})
    assert resp.status == 404

    [access] = [r for r in records.site() if r.name == "webapp.access"]
    fields = {key: getattr(access, key) for key in ("method", "path", "route", "client_ip", "request_id")}
    for value in [access.getMessage(), *map(str, fields.values())]:
        assert unsafe(value) == [], value
    assert fields["path"].startswith("/healthz\\n2026-01-01 CRITICAL forged\\x1b[31m\\u202e\\x00?\\nnext\\x1b=")
    assert "张伟🌸" in fields["path"]  # text is kept; only what can forge or reorder is escaped
    assert fields["client_ip"] == "127.0.0.1"  # a hop that is not an address ends the walk: it is never logged


@pytest.mark.parametrize("formatter", [TextFormatter(), JsonFormatter()], ids=["text", "json"])
async def test_each_record_is_one_line_with_no_control_characters_in_either_format(
    site: TestClient, records: Records, formatter: logging.Formatter
) -> None:
    await site.get(URL(f"{FORGED_PATH}?{FORGED_QUERY}", encoded=True), headers={"X-Forwarded-For": FORGED_HOP})
    await site.get(URL("/auth/wechat/callback?state=%0A%E2%80%AE&code=%00", encoded=True), allow_redirects=False)

    lines = [formatter.format(r) for r in records.site()]
    assert len(lines) >= 2
    for line in lines:
        assert "\n" not in line and unsafe(line) == [], line
        if isinstance(formatter, JsonFormatter):
            assert all(unsafe(str(v)) == [] for v in json.loads(line).values())


async def test_a_unique_violation_on_a_path_that_logs_it_writes_no_value_of_the_row(
    world: World, records: Records
) -> None:
    async with world.sm.begin() as s:  # a constraint the code does not expect, so the error reaches the log
        await s.execute(text("CREATE UNIQUE INDEX hardening_one_display_name ON users (display_name)"))
    first, second = world.browser(), world.browser()
    await first.signup("alice-7f3a", PASSWORD)  # display name = username, see Browser.signup

    resp = await _signup(second, "alice-7f3a ", "Bob-9c1e")

    assert resp.status == 500 and "Traceback" not in await resp.text()
    [logged] = [r for r in records.site() if r.levelno >= logging.ERROR]
    lines = TextFormatter().format(logged) + JsonFormatter().format(logged)
    assert "RedactedDatabaseError: UniqueViolationError (SQLSTATE 23505)" in lines
    assert "hardening_one_display_name" in lines  # what failed is still said
    for value in ("alice-7f3a", "Bob-9c1e", "DETAIL", "Key ("):
        assert value not in lines


async def _signup(browser: Browser, display_name: str, username: str) -> Any:
    return await browser.post("/signup", {"username": username, "display_name": display_name, "password": PASSWORD,
                                          "confirm": PASSWORD}, csrf_from="/signup")
