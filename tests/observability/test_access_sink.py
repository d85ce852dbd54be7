"""The access line's direct path: the same text as the record path, taken only while nothing else listens."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.accounts.helpers import create_user, login_as
from webapp import accesslog
from webapp.app import create_app
from webapp.observability import logs
from webapp.observability.logs import BatchingStreamHandler, JsonFormatter, TextFormatter, configure_logging
from webapp.settings import Settings

# 2026-12-07 09:05:03.0425 UTC, in nanoseconds (mid-millisecond: a float of it rounds to the same millisecond).
NS = 1_796_634_303_042_500_000
HOSTILE = {
    "method": "GET",
    "path": "/healthz?next=\\n2026-01-01 INFO webapp: forged\\u202e",
    "route": "healthz",
    "status": 200,
    "duration_ms": 0.4,
    "client_ip": "203.0.113.9",
}


def _record(fields: dict[str, Any], message: str, ns: int) -> logging.LogRecord:
    """The record MaskedAccessLogger's fallback path makes for these fields."""
    record = logging.getLogger(accesslog.ACCESS_LOGGER).makeRecord(
        accesslog.ACCESS_LOGGER, logging.INFO, "", 0, message, (), None, extra=fields
    )
    record.created = ns / 1e9
    record.msecs = float((ns // 1_000_000) % 1000)
    return record


@pytest.mark.parametrize("formatter_class", [TextFormatter, JsonFormatter], ids=["text", "json"])
@pytest.mark.parametrize(
    "extra",
    [{}, {"request_id": "4f1c" * 8}, {"request_id": "rid-1", "user_id": 42}, {"request_id": "a\x1bb", "user_id": 7}],
    ids=["no-ids", "request-id", "both-ids", "hostile-id"],
)
def test_the_direct_line_is_the_line_the_record_would_make(
    formatter_class: type[TextFormatter | JsonFormatter], extra: dict[str, Any]
) -> None:
    fields = {**HOSTILE, **extra}
    message = "GET /x\n\u202e 200 0.4ms 203.0.113.9 healthz"  # escaped again by both paths, as format() does

    for ns in (NS, NS + 958_000_000, NS + 7 * 1_000_000_000):  # a cached second, the next one, a later one
        direct = formatter_class().format_access(ns, fields, message)
        assert direct == formatter_class().format(_record(fields, message, ns))
        assert "\n" not in direct and "\u202e" not in direct and "\x1b" not in direct


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging replaces the root's handlers: put back what the test run had."""
    root = logging.getLogger()
    handlers, level, direct = root.handlers[:], root.level, logs._direct
    try:
        yield
    finally:
        for handler in root.handlers[:]:
            root.removeHandler(handler)
        for handler in handlers:
            root.addHandler(handler)
        root.setLevel(level)
        logs._direct = direct
        logging.getLogger("webapp.access").setLevel(logging.NOTSET)


def _configure(settings: Settings, log_format: str) -> tuple[io.StringIO, BatchingStreamHandler]:
    stream = io.StringIO()
    configure_logging(settings.with_(log_format=log_format), stream=stream)
    sink = logs.access_sink()
    assert isinstance(sink, BatchingStreamHandler)
    return stream, sink


def test_the_sink_is_used_only_while_it_is_the_only_way_out(settings: Settings, restore_logging: None) -> None:
    _stream, sink = _configure(settings, "json")
    root, access = logging.getLogger(), logging.getLogger("webapp.access")

    other = logging.StreamHandler(io.StringIO())
    root.addHandler(other)  # a test's capture, an operator's extra handler
    assert logs.access_sink() is None
    root.removeHandler(other)
    assert logs.access_sink() is sink

    access.addHandler(other)
    assert logs.access_sink() is None
    access.removeHandler(other)

    quiet = logging.Filter("nothing")
    access.addFilter(quiet)
    assert logs.access_sink() is None
    access.removeFilter(quiet)

    access.setLevel(logging.WARNING)  # an operator silencing the access log
    assert logs.access_sink() is None
    access.setLevel(logging.NOTSET)

    sink.addFilter(quiet)
    assert logs.access_sink() is None
    sink.removeFilter(quiet)
    assert logs.access_sink() is sink


@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_a_served_request_writes_its_line_through_the_sink(
    aiohttp_client: Any, settings: Settings, sessionmaker: Any, clock: Any, restore_logging: None, log_format: str
) -> None:
    stream, sink = _configure(settings, log_format)
    server = TestServer(create_app(settings, sessionmaker=sessionmaker, clock=clock))
    await server.start_server(access_log_class=accesslog.MaskedAccessLogger, access_log=accesslog.logger)
    client: TestClient = await aiohttp_client(server)
    user = await create_user(sessionmaker, clock, username="sinkuser")
    await login_as(client, sessionmaker, clock, user)
    stream.seek(0)
    stream.truncate()

    response = await client.get("/api/me?next=%0Aforged%E2%80%AE&code=SECRET-CODE")
    sink.flush()

    assert response.status == 200
    lines = [line for line in stream.getvalue().splitlines() if "webapp.access" in line]
    assert len(lines) == 1, stream.getvalue()
    [line] = lines
    assert "SECRET-CODE" not in line and "\u202e" not in line
    request_id = response.headers["X-Request-ID"]
    if log_format == "json":
        entry = json.loads(line)
        assert entry["request_id"] == request_id and entry["user_id"] == user.id and entry["route"] == "api_me"
        assert entry["path"] == "/api/me?next=\\nforged\\u202e&code=***" and entry["status"] == 200
    else:
        assert f"INFO webapp.access [request_id={request_id} user_id={user.id}]: GET " in line
        assert "/api/me?next=\\nforged\\u202e&code=*** 200 " in line and line.endswith(" api_me")
