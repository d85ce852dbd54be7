"""The simulator's aiohttp application factory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import aiohttp_jinja2
import jinja2
from aiohttp import web

from webapp.wechat_sim import (
    cgi_views,
    control,
    control_misc,
    home,
    mini_views,
    mp_control,
    mp_pages,
    oauth_views,
    qr_views,
    sns_views,
)
from webapp.wechat_sim.fault_middleware import fault_middleware
from webapp.wechat_sim.keys import sender_key, state_key
from webapp.wechat_sim.pages import display_safe
from webapp.wechat_sim.push_sender import PushSender
from webapp.wechat_sim.state import SimulatorState

REPO_ROOT = Path(__file__).resolve().parents[2]
STATIC_DIR = REPO_ROOT / "static" / "wechat_sim"
WXLOGIN_PATH = "/connect/zh_CN/htmledition/js/wxLogin.js"


def _wechat_routes(app: web.Application) -> None:
    """Add WeChat's own paths (open.weixin.qq.com, api.weixin.qq.com, res.wx.qq.com, thirdwx.qlogo.cn)."""
    r = app.router
    r.add_get("/connect/qrconnect", qr_views.qrconnect, name="qrconnect")
    r.add_get("/connect/qrcode/{uuid}", qr_views.qrcode, name="qrcode")
    r.add_get("/connect/l/qrconnect", qr_views.poll, name="qr_poll")
    r.add_get("/connect/confirm", qr_views.confirm_page, name="qr_confirm")
    r.add_get(WXLOGIN_PATH, qr_views.wxlogin_js, name="wxlogin_js")
    r.add_get("/connect/oauth2/authorize", oauth_views.authorize, name="authorize")
    r.add_post("/connect/oauth2/authorize/decide", oauth_views.decide, name="authorize_decide")
    for path, handler in (("/sns/oauth2/access_token", sns_views.access_token),
                          ("/sns/oauth2/refresh_token", sns_views.refresh_token),
                          ("/sns/auth", sns_views.auth), ("/sns/userinfo", sns_views.userinfo)):
        r.add_get(path, handler)
        r.add_post(path, handler)
    for path, handler in (("/cgi-bin/token", cgi_views.token), ("/cgi-bin/stable_token", cgi_views.stable_token),
                          ("/cgi-bin/qrcode/create", cgi_views.qrcode_create),
                          ("/cgi-bin/user/info", cgi_views.user_info)):
        r.add_get(path, handler)
        r.add_post(path, handler)
    r.add_get("/sns/jscode2session", mini_views.jscode2session)
    r.add_post("/sns/jscode2session", mini_views.jscode2session)
    r.add_get("/wxa/business/getuserphonenumber", mini_views.getuserphonenumber)
    r.add_post("/wxa/business/getuserphonenumber", mini_views.getuserphonenumber)
    r.add_get("/cgi-bin/showqrcode", cgi_views.showqrcode, name="showqrcode")
    r.add_get("/q/{qr_id}", mp_pages.phone, name="mp_phone")
    r.add_get("/mmopen/{user_id}/{size}", home.avatar_image, name="avatar")


def _control_routes(app: web.Application) -> None:
    """Add the /_sim control API, the home page and the demo pages."""
    r = app.router
    r.add_get("/", home.home, name="home")
    r.add_get("/_sim/api/apps", control.apps)
    r.add_get("/_sim/api/users", control.users)
    r.add_patch("/_sim/api/users/{user_id}", control.patch_user)
    r.add_get("/_sim/api/qr/{uuid}", control.qr_status)
    r.add_post("/_sim/api/qr/{uuid}", control.qr_action)
    r.add_get("/_sim/wechat-browser", control.wechat_browser, name="wechat_browser")
    r.add_post("/_sim/api/codes", control.issue_code)
    r.add_post("/_sim/api/tokens/revoke", control.revoke_tokens)
    r.add_get("/_sim/api/faults", control_misc.list_faults)
    r.add_post("/_sim/api/faults", control_misc.add_fault)
    r.add_delete("/_sim/api/faults", control_misc.clear_faults)
    r.add_get("/_sim/api/calls", control_misc.calls)
    r.add_delete("/_sim/api/calls", control_misc.clear_calls)
    r.add_get("/_sim/api/clock", control_misc.get_clock)
    r.add_post("/_sim/api/clock", control_misc.advance_clock)
    r.add_post("/_sim/api/reset", control_misc.reset)
    r.add_get("/_sim/api/stats", control_misc.stats)
    _mp_control_routes(app)
    r.add_post("/_sim/api/mini/login-code", mini_views.login_code)
    r.add_post("/_sim/api/mini/phone-code", mini_views.phone_code)
    r.add_post("/_sim/api/mini/risky", mini_views.risky)
    r.add_get("/_sim/mini", mini_views.page, name="mini_page")
    r.add_post("/_sim/mini", mini_views.page)
    r.add_get("/_sim/demo/callback", home.demo_callback, name="demo_callback")
    r.add_get("/_sim/demo/embedded", home.demo_embedded, name="demo_embedded")
    r.add_static("/_sim/static", STATIC_DIR, name="static")


def _mp_control_routes(app: web.Application) -> None:
    """Add the official-account control API and the push configuration."""
    r = app.router
    for name in ("scan", "follow", "unfollow", "revoke", "profile", "push"):
        r.add_post(f"/_sim/api/mp/{name}", getattr(mp_control, name))
    r.add_get("/_sim/api/mp/qrcodes", mp_control.qrcodes)
    r.add_get("/_sim/api/mp/followers", mp_control.followers)
    r.add_get("/_sim/api/mp/deliveries", mp_control.deliveries)
    r.add_delete("/_sim/api/mp/deliveries", mp_control.clear_deliveries)
    r.add_get("/_sim/api/push-config", mp_control.get_push_config)
    r.add_post("/_sim/api/push-config", mp_control.set_push_config)


async def _sender_context(app: web.Application) -> AsyncIterator[None]:
    """One HTTP session for every push, closed (with pending deliveries cancelled) on shutdown."""
    # A new connection per push, as WeChat's are: a reused keep-alive connection the server just closed
    # would fail an attempt for nothing.
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as http:
        app[sender_key] = PushSender(app[state_key], http)
        yield
        await app[sender_key].close()


def create_simulator_app(state: SimulatorState | None = None, *,
                         templates_dir: Path | None = None) -> web.Application:
    """Build the simulator app around `state` (a fresh default-fixture state if None)."""
    app = web.Application(middlewares=[fault_middleware])
    app[state_key] = state or SimulatorState()
    app.cleanup_ctx.append(_sender_context)
    loader = jinja2.FileSystemLoader(str(templates_dir or REPO_ROOT / "templates"))
    aiohttp_jinja2.setup(app, loader=loader, autoescape=jinja2.select_autoescape(["html"]), finalize=display_safe)
    _wechat_routes(app)
    _control_routes(app)
    return app
