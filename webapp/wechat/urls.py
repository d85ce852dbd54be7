"""Build the browser-facing WeChat authorization URLs (pure functions, no I/O)."""

from __future__ import annotations

import functools
import re
from typing import Literal
from urllib.parse import quote

from webapp.wechat.schemas import WeChatApp

QRCONNECT_PATH = "/connect/qrconnect"
OAUTH2_AUTHORIZE_PATH = "/connect/oauth2/authorize"
WECHAT_REDIRECT_FRAGMENT = "#wechat_redirect"

# oauth2/authorize rejects anything but 1-128 ASCII letters and digits ("state参数过长").
_STATE_RE = re.compile(r"[A-Za-z0-9]{1,128}", re.ASCII)


def qrconnect_url(
    open_base: str,
    app: WeChatApp,
    *,
    redirect_uri: str,
    state: str,
    lang: Literal["cn", "en"] | None = None,
) -> str:
    """Return the website app's QR login page URL (scope snsapi_login)."""
    _require_kind(app, "website")
    params = _authorize_params(app, redirect_uri=redirect_uri, scope="snsapi_login", state=state)
    if lang is not None:
        params.append(("lang", lang))
    return _build(open_base, QRCONNECT_PATH, params)


def oauth2_authorize_url(
    open_base: str,
    app: WeChatApp,
    *,
    redirect_uri: str,
    scope: Literal["snsapi_base", "snsapi_userinfo"],
    state: str,
) -> str:
    """Return the official account's in-WeChat authorization URL."""
    _require_kind(app, "official_account")
    if scope not in ("snsapi_base", "snsapi_userinfo"):
        raise ValueError(f"unsupported scope {scope!r}")
    params = _authorize_params(app, redirect_uri=redirect_uri, scope=scope, state=state)
    # Not documented, but WeChat's own links and most SDKs add it.
    params.append(("connect_redirect", "1"))
    return _build(open_base, OAUTH2_AUTHORIZE_PATH, params)


def _authorize_params(app: WeChatApp, *, redirect_uri: str, scope: str, state: str) -> list[tuple[str, str]]:
    if not _STATE_RE.fullmatch(state):
        raise ValueError("state must be 1-128 ASCII letters or digits")
    if not redirect_uri.startswith(("https://", "http://")):
        raise ValueError("redirect_uri must be an absolute http(s) URL")
    # WeChat validates this link against a strict pattern: keep exactly this order.
    return [
        ("appid", app.appid),
        ("redirect_uri", redirect_uri),
        ("response_type", "code"),
        ("scope", scope),
        ("state", state),
    ]


def _build(open_base: str, path: str, params: list[tuple[str, str]]) -> str:
    query = "&".join(f"{key}={_quoted(value)}" for key, value in params)
    return f"{open_base.rstrip('/')}{path}?{query}{WECHAT_REDIRECT_FRAGMENT}"


# What quote(value, safe="") leaves as it is.
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*", re.ASCII)


def _quoted(value: str) -> str:
    """quote(value, safe=""): a state or an appid as it is, the few configured values (the callback URL) cached."""
    return value if _UNRESERVED.fullmatch(value) else _quote_configured(value)


@functools.lru_cache(maxsize=64)
def _quote_configured(value: str) -> str:
    return quote(value, safe="")


def _require_kind(app: WeChatApp, kind: str) -> None:
    # The wrong app type gets WeChat's "Scope 参数错误" page (10005) instead of a login.
    if app.kind != kind:
        raise ValueError(f"app {app.appid} is a {app.kind} app; this URL needs a {kind} app")
