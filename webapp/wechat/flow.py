"""Request-level plumbing of the WeChat flows: which app serves which flow, and starting one (nothing stored)."""

from __future__ import annotations

import functools
from typing import Literal

from aiohttp import web

from webapp.browser import current_binding, ensure_binding
from webapp.clientinfo import client_ip, coarse_client, counts_as_wechat, is_phone_without_wechat
from webapp.i18n import locale_of
from webapp.keys import clock_key, settings_key, state_signer_key
from webapp.observability import metrics
from webapp.settings import Settings, WeChatAppConfig
from webapp.wechat import flowcookie, states, urls
from webapp.wechat.schemas import AppKind, WeChatApp
from webapp.wechat.service import Actor

METHODS = {
    "qr": "wechat_qr", "embedded": "wechat_embedded", "mp_base": "wechat_mp", "mp_userinfo": "wechat_mp",
    "mp_follow": "wechat_follow",
}


class NoBinding(Exception):
    """A script asked for a state, but its browser has no binding value (cookies off, or no page loaded)."""


def website_app(settings: Settings) -> WeChatApp | None:
    """The open-platform website app (QR login), if configured."""
    return _configured(settings.wechat_web, "website")


def official_account(settings: Settings) -> WeChatApp | None:
    """The official account (in-WeChat login), if configured."""
    return _configured(settings.wechat_mp, "official_account")


@functools.lru_cache(maxsize=32)
def _configured(cfg: WeChatAppConfig | None, kind: AppKind) -> WeChatApp | None:
    """One WeChatApp per configured app (a login round asks for it half a dozen times)."""
    return WeChatApp(appid=cfg.appid, secret=cfg.secret, kind=kind) if cfg and cfg.appid else None


def app_by_id(settings: Settings, appid: str) -> WeChatApp | None:
    """The configured app with this appid."""
    return next((a for a in (website_app(settings), official_account(settings)) if a and a.appid == appid), None)


def in_wechat(request: web.Request) -> bool:
    """True inside WeChat's in-app browser (or a browser `webapp dev` was told to treat as one)."""
    return counts_as_wechat(request)


def available_flow(request: web.Request, *, step_up: bool = False) -> states.Flow | None:
    """The redirect flow this browser can use: official account inside WeChat, QR elsewhere."""
    settings = request.app[settings_key]
    if in_wechat(request):
        if official_account(settings) is None:
            return None  # a QR code cannot be scanned from the phone that shows it
        return "mp_userinfo" if step_up else "mp_base"
    if is_phone_without_wechat(request):
        return None  # a phone cannot scan its own screen: the pages say how to open the site in WeChat
    return "qr" if website_app(settings) else None


def new_state(
    request: web.Request, *, flow: states.Flow, purpose: states.Purpose, next_path: str, user_id: int | None = None,
    from_script: bool = False,
) -> tuple[str, WeChatApp]:
    """A signed state for this browser and the app that serves the flow; writes nothing in the database.

    The flow's payload (purpose, next path, account) goes to this browser's flow cookie. A script
    request (`from_script`) never gives the browser its binding: the page it runs in did; NoBinding if not.
    """
    settings = request.app[settings_key]
    app = official_account(settings) if flow.startswith("mp_") else website_app(settings)
    assert app is not None, "callers check available_flow first"
    binding = current_binding(request) if from_script else ensure_binding(request)
    if binding is None:
        raise NoBinding()
    state = request.app[state_signer_key].issue(flow, binding=binding, now=request.app[clock_key]())
    ticket = request.app[state_signer_key].read(state)
    assert ticket is not None
    flowcookie.remember(request, ticket.key, flowcookie.FlowPayload(purpose, next_path, user_id))
    metrics.oauth_state("created")
    return state, app


def authorize_url(request: web.Request, flow: states.Flow, app: WeChatApp, state: str) -> str:
    """WeChat's authorization page for this flow."""
    settings = request.app[settings_key]
    if flow == "qr":  # WeChat's QR page in the visitor's language (it knows Chinese and English)
        lang: Literal["cn", "en"] = "en" if locale_of(request) == "en" else "cn"
        return urls.qrconnect_url(
            settings.wechat_open_base, app, redirect_uri=settings.callback_url, state=state, lang=lang
        )
    scope: Literal["snsapi_base", "snsapi_userinfo"] = "snsapi_userinfo" if flow == "mp_userinfo" else "snsapi_base"
    return urls.oauth2_authorize_url(
        settings.wechat_open_base, app, redirect_uri=settings.callback_url, scope=scope, state=state
    )


def actor(request: web.Request, flow: str) -> Actor:
    """Who is acting, coarsely, for the security log."""
    return Actor(
        client=coarse_client(request.headers.get("User-Agent", "")), ip=client_ip(request), method=METHODS.get(flow, "")
    )
