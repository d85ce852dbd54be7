"""Request-level plumbing of the WeChat flows: which app serves which flow, starting one, the browser nonce."""

from __future__ import annotations

from aiohttp import web

from webapp import ratelimit
from webapp.clientinfo import client_ip, coarse_client, counts_as_wechat, is_phone_without_wechat
from webapp.cookies import pending, set_later
from webapp.keys import clock_key, database_key, settings_key
from webapp.observability import metrics
from webapp.security import random_token
from webapp.settings import Settings
from webapp.wechat import states, urls
from webapp.wechat.schemas import WeChatApp
from webapp.wechat.service import Actor

# The browser binding of OAuth states: a random value in its own cookie (no server-side session needed).
BROWSER_COOKIE = "webapp_wx"
BROWSER_COOKIE_MAX_AGE = 24 * 3600
METHODS = {
    "qr": "wechat_qr", "embedded": "wechat_embedded", "mp_base": "wechat_mp", "mp_userinfo": "wechat_mp",
    "mp_follow": "wechat_follow",
}


class FlowLimited(web.HTTPTooManyRequests):
    """This client address started too many WeChat flows in the current window."""


def website_app(settings: Settings) -> WeChatApp | None:
    """The open-platform website app (QR login), if configured."""
    cfg = settings.wechat_web
    return WeChatApp(appid=cfg.appid, secret=cfg.secret, kind="website") if cfg and cfg.appid else None


def official_account(settings: Settings) -> WeChatApp | None:
    """The official account (in-WeChat login), if configured."""
    cfg = settings.wechat_mp
    return WeChatApp(appid=cfg.appid, secret=cfg.secret, kind="official_account") if cfg and cfg.appid else None


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


async def browser_nonce(request: web.Request) -> str:
    """This browser's random binding value (its own cookie, created here if missing); states keep its hash."""
    nonce = await current_nonce(request)
    if nonce is None:
        nonce = random_token()
        set_later(request, BROWSER_COOKIE, nonce, max_age=BROWSER_COOKIE_MAX_AGE)
    return nonce


async def current_nonce(request: web.Request) -> str | None:
    """The binding value this request carries (none inside WeChat's cross-site QR iframe)."""
    nonce = pending(request, BROWSER_COOKIE)
    return nonce if nonce and 20 <= len(nonce) <= 64 else None


async def new_state(
    request: web.Request, *, flow: states.Flow, purpose: states.Purpose, next_path: str, user_id: int | None = None
) -> tuple[str, WeChatApp]:
    """Store a state for this browser and return it with the app that serves the flow; FlowLimited past the limit."""
    settings = request.app[settings_key]
    app = official_account(settings) if flow.startswith("mp_") else website_app(settings)
    assert app is not None, "callers check available_flow first"
    nonce = await browser_nonce(request)
    async with request.app[database_key].connection() as conn:
        state = await states.create(
            conn, purpose=purpose, flow=flow, appid=app.appid, next_path=next_path, browser_nonce=nonce,
            now=request.app[clock_key](), user_id=user_id, rate_key=ratelimit.client_key(client_ip(request)),
            limit=settings.state_rate_limit,
        )
    if state is None:
        metrics.throttled("flow_start")
        raise FlowLimited()
    metrics.oauth_state("created")
    return state, app


def authorize_url(request: web.Request, flow: states.Flow, app: WeChatApp, state: str) -> str:
    """WeChat's authorization page for this flow."""
    settings = request.app[settings_key]
    if flow == "qr":
        return urls.qrconnect_url(settings.wechat_open_base, app, redirect_uri=settings.callback_url, state=state)
    scope = "snsapi_userinfo" if flow == "mp_userinfo" else "snsapi_base"
    return urls.oauth2_authorize_url(
        settings.wechat_open_base, app, redirect_uri=settings.callback_url, scope=scope, state=state
    )


def actor(request: web.Request, flow: str) -> Actor:
    """Who is acting, coarsely, for the security log."""
    return Actor(
        client=coarse_client(request.headers.get("User-Agent", "")), ip=client_ip(request), method=METHODS.get(flow, "")
    )
