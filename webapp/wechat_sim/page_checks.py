"""Validation of /connect authorization links, producing WeChat's error pages (never a redirect)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from yarl import URL

from webapp.wechat_sim.fixture import Fixture, SimApp

LINK_INVALID = "该链接无法访问"
SCOPE_ERROR = "Scope 参数错误或没有 Scope 权限"
REDIRECT_ERROR = "redirect_uri 参数错误"
STATE_ERROR = "state参数过长"
OA_SCOPES = ("snsapi_base", "snsapi_userinfo")
_STATE_RE = re.compile(r"[A-Za-z0-9]{0,128}")


@dataclass(frozen=True)
class PageError(Exception):
    """An authorization link WeChat refuses; shown as an error page."""

    message: str
    errcode: int | None = None
    detail: str = ""


def _host_ok(app: SimApp, redirect_uri: str) -> bool:
    """Return True if redirect_uri is absolute http(s) and its host is one of the app's callback hosts."""
    try:
        url = URL(redirect_uri)
    except ValueError:
        return False
    return url.scheme in ("http", "https") and url.host in app.callback_hosts


def _known_app(fixture: Fixture, params: Mapping[str, str]) -> SimApp:
    """Return the app named by `appid` or refuse the link."""
    appid = params.get("appid", "")
    if not appid:
        raise PageError(LINK_INVALID, 10012, "appid 参数为空")
    app = fixture.app(appid)
    if app is None:
        raise PageError(LINK_INVALID, None, "AppID 参数错误")
    return app


def check_qrconnect(fixture: Fixture, params: Mapping[str, str]) -> SimApp:
    """Validate a website-app QR link; return the app."""
    app = _known_app(fixture, params)
    if app.kind != "website":
        raise PageError(SCOPE_ERROR, 10005, "此 AppID 不是网站应用")
    if "snsapi_login" not in params.get("scope", "").split(","):
        raise PageError(SCOPE_ERROR, 10005)
    if not _host_ok(app, params.get("redirect_uri", "")):
        raise PageError(REDIRECT_ERROR, 10003, "redirect_uri 与后台配置的授权回调域不一致")
    return app


def check_authorize(fixture: Fixture, params: Mapping[str, str]) -> SimApp:
    """Validate an official-account web authorization link; return the app."""
    if not params.get("redirect_uri"):
        raise PageError(LINK_INVALID, 10011, "redirect_uri 参数为空")
    if not params.get("scope"):
        raise PageError(SCOPE_ERROR, 10010, "scope 参数为空")
    app = _known_app(fixture, params)
    if app.kind != "official_account" or params["scope"] not in OA_SCOPES:
        raise PageError(SCOPE_ERROR, 10005)
    if not _host_ok(app, params["redirect_uri"]):
        raise PageError(REDIRECT_ERROR, 10003, "redirect_uri 域名与后台配置不一致")
    if params.get("response_type") != "code":
        raise PageError(LINK_INVALID, None, "response_type 参数错误")
    if not _STATE_RE.fullmatch(params.get("state", "")):
        raise PageError(STATE_ERROR, None, "state 只能是不超过 128 字节的字母和数字")
    return app


def insert_before_fragment(redirect_uri: str, query: str) -> str:
    """Put `query` into redirect_uri's query string, before any #fragment (what the 302 does)."""
    base, hash_, fragment = redirect_uri.partition("#")
    sep = "&" if "?" in base else "?"
    return f"{base}{sep}{query}{hash_}{fragment}"
