"""What pages outside this package show of WeChat: the settings section, login options, the confirm page."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from webapp.accounts.account import Account
from webapp.accounts.session import has_recent_auth
from webapp.keys import settings_key
from webapp.wechat import binding, flow, phone


async def settings_panel(request: web.Request, user: Account) -> dict[str, Any]:
    """Context for templates/wechat/settings_panel.html (the identities came with the session)."""
    settings = request.app[settings_key]
    identities = [dict(identity) for identity in user.wechat]
    return {
        "wechat_identities": identities,
        "wechat_can_bind": binding.can_bind(request, user),
        "wechat_open_in_wechat": None if identities else phone.guidance(request, "/settings#wechat"),
        "wechat_can_unbind": bool(identities) and user.has_password,
        "wechat_last_method": bool(identities) and not user.has_password,
        "wechat_recent_auth": await has_recent_auth(request),
        "wechat_configured": flow.website_app(settings) is not None or flow.official_account(settings) is not None,
    }


async def login_options(request: web.Request, next_path: str) -> dict[str, Any]:
    """Context for templates/wechat/login_options.html: the redirect link and the embedded QR.

    The embedded QR's state is not made here: the page's script asks for one when it shows the QR
    (and again before it expires), so reading the login page writes nothing.
    """
    settings = request.app[settings_key]
    chosen = flow.available_flow(request)
    context: dict[str, Any] = {"wechat_flow": chosen, "wechat_embed": None, "qr_expired": False}
    if chosen is None:
        context["open_in_wechat"] = phone.guidance(request, request.path_qs)
        return context
    context["wechat_start_url"] = str(request.app.router["wechat_start"].url_for().with_query(next=next_path))
    app = flow.website_app(settings)
    if chosen == "qr" and app is not None:
        context["wechat_embed"] = {
            "js_url": settings.wechat_js_url,
            "appid": app.appid,
            "redirect_uri": settings.callback_url,
            "state_url": str(request.app.router["wechat_embed_state"].url_for().with_query(next=next_path)),
            "self_redirect": request.query.get("self_redirect", "true") != "false",
        }
        context["qr_expired"] = request.query.get("qr") == "expired"
    return context


def confirm_options(request: web.Request, user: Account, next_path: str) -> dict[str, Any]:
    """Context for the "confirm it's you" page: scanning works only with a WeChat bound to this account."""
    can_scan = bool(user.wechat) and flow.available_flow(request, step_up=True) is not None
    return {
        "can_scan": can_scan,
        "scan_next": next_path,
        "open_in_wechat": None if can_scan or not user.wechat else phone.guidance(request, request.path_qs),
    }
