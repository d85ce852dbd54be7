"""Log lines written while the site handles real requests: JSON or text, request ids, escaped values."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.accounts.helpers import create_user, login_as
from tests.wechat.harness import *  # pytest fixtures (world and its parts) must be module globals
from tests.wechat.harness import World
from webapp import accesslog
from webapp.app import create_app
from webapp.observability.logs import JsonFormatter, RequestContextFilter, TextFormatter
from webapp.settings import Settings


class Captured:
    """What the root logger wrote through one handler with the site's formatter."""

    def __init__(self, formatter: logging.Formatter) -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(formatter)
        self.handler.addFilter(RequestContextFilter())

    @property
    def text(self) -> str:
        """Everything written."""
        return self.stream.getvalue()

    def entries(self) -> list[dict[str, Any]]:
        """Every line, each parsed as one JSON object."""
        return [json.loads(line) for line in self.text.splitlines()]


def _capture(formatter: logging.Formatter) -> Iterator[Captured]:
    captured = Captured(formatter)
    root = logging.getLogger()
    level = root.level
    root.addHandler(captured.handler)
    root.setLevel(logging.INFO)
    try:
        yield captured
    finally:
        root.removeHandler(captured.handler)
        root.setLevel(level)


@pytest.fixture
def json_logs() -> Iterator[Captured]:
    yield from _capture(JsonFormatter())


@pytest.fixture
def text_logs() -> Iterator[Captured]:
    yield from _capture(TextFormatter())


@pytest.fixture
async def site(aiohttp_client: Any, settings: Settings, sessionmaker: Any, clock: Any) -> TestClient:
    """The site served with the production access logger."""
    server = TestServer(create_app(settings, sessionmaker=sessionmaker, clock=clock))
    await server.start_server(access_log_class=accesslog.MaskedAccessLogger, access_log=accesslog.logger)
    return await aiohttp_client(server)


def access_entries(logs: Captured) -> list[dict[str, Any]]:
    """The JSON access lines."""
    return [e for e in logs.entries() if e["logger"] == "webapp.access"]


async def test_the_access_line_is_json_with_the_request_id_of_the_response(
    site: TestClient, json_logs: Captured
) -> None:
    response = await site.get("/healthz", headers={"X-Forwarded-For": "198.51.100.1"})

    [entry] = access_entries(json_logs)
    assert entry["request_id"] == response.headers["X-Request-ID"]
    assert len(entry["request_id"]) == 32
    assert entry["method"] == "GET" and entry["route"] == "healthz" and entry["status"] == 200
    assert entry["path"] == "/healthz" and entry["client_ip"] == "127.0.0.1"  # no trusted proxy: the peer
    assert isinstance(entry["duration_ms"], float) and entry["level"] == "INFO" and entry["time"].endswith("Z")


async def test_a_forged_newline_in_the_query_stays_inside_one_escaped_value(
    site: TestClient, json_logs: Captured
) -> None:
    forged = '%0A{"level":"CRITICAL","message":"forged"}%0D%E2%80%AE'

    await site.get(f"/healthz?next={forged}")

    assert len(json_logs.text.splitlines()) == len(json_logs.entries())
    [entry] = access_entries(json_logs)
    assert entry["path"] == '/healthz?next=\\n{"level":"CRITICAL","message":"forged"}\\r\\u202e'
    assert "\u202e" not in json_logs.text


async def test_codes_states_and_tokens_in_the_query_are_masked(site: TestClient, json_logs: Captured) -> None:
    query = "code=CODE-7f3a&state=STATE-7f3a&access_token=AT-7f3a&X-Api-Key=K-7f3a"
    await site.get(f"/auth/wechat/callback?{query}", allow_redirects=False)

    assert "7f3a" not in json_logs.text
    [entry] = access_entries(json_logs)
    assert entry["path"] == "/auth/wechat/callback?code=***&state=***&access_token=***&X-Api-Key=***"


async def test_lines_of_a_logged_in_request_carry_the_user_id(
    site: TestClient, json_logs: Captured, sessionmaker: Any, clock: Any
) -> None:
    user = await create_user(sessionmaker, clock, username="logs-alice")
    await login_as(site, sessionmaker, clock, user)

    await site.get("/api/me")

    [entry] = access_entries(json_logs)
    assert entry["user_id"] == user.id


async def test_an_anonymous_request_has_no_user_id(site: TestClient, json_logs: Captured) -> None:
    await site.get("/api/me")

    [entry] = access_entries(json_logs)
    assert "user_id" not in entry and entry["status"] == 401


def test_an_exception_is_one_json_line_with_its_traceback_escaped(json_logs: Captured) -> None:
    try:
        raise ValueError("bad nickname \u202e\nforged")
    except ValueError:
        logging.getLogger("webapp.test").exception("failed for %s", "x\ny")

    [entry] = json_logs.entries()
    assert entry["message"] == "failed for x\\ny"
    assert "ValueError: bad nickname \\u202e" in entry["exc_info"]
    assert "request_id" not in entry  # not written while handling a request


def test_extra_fields_become_keys_and_are_escaped_too(json_logs: Captured) -> None:
    logging.getLogger("webapp.test").info("hello", extra={"nickname": "a\u202eb\x1b[2J", "count": 3, "ok": True})

    [entry] = json_logs.entries()
    assert entry["nickname"] == "a\\u202eb\\x1b[2J" and entry["count"] == 3 and entry["ok"] is True


async def test_text_lines_are_single_escaped_lines_with_the_request_id(site: TestClient, text_logs: Captured) -> None:
    response = await site.get("/healthz?next=%0A2026-01-01%20INFO%20webapp:%20forged%E2%80%AE")

    [line] = text_logs.text.splitlines()
    assert f"[request_id={response.headers['X-Request-ID']}]" in line
    assert "/healthz?next=\\n2026-01-01 INFO webapp: forged\\u202e 200" in line


def test_a_text_traceback_is_indented_so_no_line_can_pass_for_a_record(text_logs: Captured) -> None:
    try:
        raise ValueError("x\n2026-01-01 00:00:00,000 INFO webapp: forged")
    except ValueError:
        logging.getLogger("webapp.test").exception("failed")

    first, *rest = text_logs.text.splitlines()
    assert first.endswith("ERROR webapp.test: failed")
    assert rest and all(line.startswith("    ") for line in rest)


async def test_lines_written_inside_a_request_carry_its_request_id(world: World, json_logs: Captured) -> None:
    callback = await world.browser().qr_login(user=1)

    inside = [e for e in json_logs.entries() if e["logger"].startswith("webapp.wechat")]
    assert inside, json_logs.text
    assert {e.get("request_id") for e in inside} == {callback.headers["X-Request-ID"]}
