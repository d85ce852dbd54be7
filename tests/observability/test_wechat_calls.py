"""wechat_call_logged: what the WeChat client's chokepoint records for every call."""

from __future__ import annotations

import logging

import pytest
from aiohttp.test_utils import TestClient

from tests.observability.helpers import scrape, value
from webapp.observability.wechat import wechat_call_logged, wechat_rid


@pytest.mark.parametrize(
    ("errmsg", "rid"),
    [
        ("invalid code, rid: 6571a2b3-1c2d3e4f-5a6b7c8d", "6571a2b3-1c2d3e4f-5a6b7c8d"),
        ("invalid code rid: 6571a2b3-1c2d3e4f-5a6b7c8d", "6571a2b3-1c2d3e4f-5a6b7c8d"),
        ("invalid credential, hints: [ req_id: AbC123 ]", "AbC123"),
        ("ok", None),
        ("", None),
    ],
)
def test_the_rid_is_read_from_errmsg(errmsg: str, rid: str | None) -> None:
    assert wechat_rid(errmsg) == rid


async def test_a_failed_call_logs_endpoint_errcode_and_rid_but_not_errmsg(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    before = await scrape(client)

    with caplog.at_level(logging.INFO, logger="webapp.wechat"):
        wechat_call_logged(
            "/sns/oauth2/access_token", 40029, 0.12, errmsg="invalid code CODE-7f3a, rid: 6571a2b3-1c2d3e4f-5a6b7c8d"
        )

    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "wechat /sns/oauth2/access_token errcode=40029 120ms rid=6571a2b3-1c2d3e4f-5a6b7c8d"
    assert (record.endpoint, record.errcode, record.rid, record.duration_ms) == (  # type: ignore[attr-defined]
        "/sns/oauth2/access_token",
        "40029",
        "6571a2b3-1c2d3e4f-5a6b7c8d",
        120,
    )
    assert "7f3a" not in str(record.__dict__)
    after = await scrape(client)
    labels = {"endpoint": "/sns/oauth2/access_token", "errcode": "40029"}
    assert (
        value(after, "webapp_wechat_api_calls_total", **labels)
        - value(before, "webapp_wechat_api_calls_total", **labels)
        == 1
    )


async def test_a_transport_failure_says_which_kind(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    before = await scrape(client)

    with caplog.at_level(logging.INFO, logger="webapp.wechat"):
        wechat_call_logged("/sns/userinfo", "transport", 10.0, reason="timeout")

    [record] = caplog.records
    assert record.getMessage() == "wechat /sns/userinfo errcode=transport (timeout) 10000ms rid=-"
    after = await scrape(client)
    labels = {"endpoint": "/sns/userinfo", "errcode": "transport"}
    assert (
        value(after, "webapp_wechat_api_calls_total", **labels)
        - value(before, "webapp_wechat_api_calls_total", **labels)
        == 1
    )


async def test_a_query_never_reaches_the_log_or_a_label_and_unknown_values_count_as_other(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    before = await scrape(client)

    with caplog.at_level(logging.INFO):
        wechat_call_logged("/sns/oauth2/access_token?code=CODE-7f3a", 0, 0.1)
        wechat_call_logged("/cgi-bin/new_thing/7f3a", 0, 0.1)
        wechat_call_logged("/sns/userinfo", 99999, 0.1)

    after = await scrape(client)

    def moved(**labels: str) -> float:
        return value(after, "webapp_wechat_api_calls_total", **labels) - value(
            before, "webapp_wechat_api_calls_total", **labels
        )

    assert moved(endpoint="/sns/oauth2/access_token", errcode="0") == 1
    assert moved(endpoint="other", errcode="0") == 1
    assert moved(endpoint="/sns/userinfo", errcode="other") == 1
    assert not [key for key in after if any("7f3a" in v for _, v in key[1])]
    assert "CODE-7f3a" not in caplog.text
