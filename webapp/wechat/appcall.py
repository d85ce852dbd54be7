"""One HTTP exchange of the app-level WeChat clients (official account, mini program): a JSON object or an error.

WeChat answers HTTP 200 with UTF-8 JSON whatever its Content-Type says. Anything else (a timeout, a dropped
connection, another status, bytes that are not a JSON object) becomes the caller's "unavailable" error with a
short reason: never `str(exc)`, which for some aiohttp errors carries the whole URL, secret and token included.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import aiohttp

from webapp.text import clean_text
from webapp.wechat.errors import WeChatError


async def fetch_object(
    http: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    path: str,
    params: Mapping[str, str] | None,
    json_body: Mapping[str, Any] | None,
    timeout: aiohttp.ClientTimeout,
    unavailable: Callable[..., WeChatError],
) -> dict[str, Any]:
    """The JSON object WeChat answered at `url`; `unavailable(reason, path=path)` raised otherwise."""
    try:
        async with http.request(
            method, url, params=params, json=json_body, timeout=timeout, allow_redirects=False
        ) as resp:
            status, body = resp.status, await resp.read()
    except (aiohttp.ClientError, TimeoutError, ConnectionResetError) as exc:
        raise unavailable("timeout" if isinstance(exc, TimeoutError) else "connection", path=path) from None
    if status != 200:
        raise unavailable(f"http_{status}", path=path)
    try:
        payload = json.loads(body.decode("utf-8"), strict=False)
    except (UnicodeDecodeError, ValueError, RecursionError):  # RecursionError: a body nested thousands deep
        raise unavailable("bad_json", path=path) from None
    if not isinstance(payload, dict):
        raise unavailable("not_object", path=path)
    return payload


def loggable_errmsg(payload: Mapping[str, Any], hidden: tuple[str, ...] = ()) -> str:
    """WeChat's errmsg fit for a log line: short, cleaned, and without any of the `hidden` values."""
    errmsg = str(payload.get("errmsg", ""))[:300]
    for value in hidden:
        errmsg = errmsg.replace(value, "***") if value else errmsg
    return clean_text(errmsg, 200)
