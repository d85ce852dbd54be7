"""The whole URL map; every route is named and views redirect by name."""

from __future__ import annotations

from aiohttp import web

from webapp import pages
from webapp.accounts import views as accounts
from webapp.keys import settings_key
from webapp.observability import views as observability  # observability
from webapp.wechat import views as wechat


def setup_routes(app: web.Application) -> None:
    """Register every route of the site."""
    r = app.router
    r.add_get("/", pages.home, name="home")
    r.add_get("/healthz", pages.healthz, name="healthz")
    r.add_get("/readyz", observability.readyz, name="readyz")  # observability
    r.add_get("/metrics", observability.metrics, name="metrics")  # observability: METRICS_ALLOW only
    r.add_get("/api/me", pages.api_me, name="api_me")
    r.add_get("/lang/{locale}", pages.set_language, name="set_language")
    r.add_get("/MP_verify_{token:[A-Za-z0-9]+}.txt", pages.mp_verify, name="mp_verify")

    r.add_get("/login", accounts.login_page, name="login")
    r.add_post("/login", accounts.login, name="login_post")
    r.add_get("/signup", accounts.signup_page, name="signup")
    r.add_post("/signup", accounts.signup, name="signup_post")
    r.add_post("/logout", accounts.logout, name="logout")
    r.add_get("/settings", accounts.settings_page, name="settings")
    r.add_post("/settings/password", accounts.set_password, name="set_password")
    r.add_post("/settings/reauth", accounts.reauthenticate, name="reauth")
    r.add_post("/settings/sessions/logout-others", accounts.logout_others, name="logout_others")

    r.add_get("/auth/wechat/start", wechat.start, name="wechat_start")
    r.add_get("/auth/wechat/callback", wechat.callback, name="wechat_callback")
    r.add_get("/auth/wechat/finish", wechat.finish, name="wechat_finish")
    r.add_get("/auth/wechat/continue", wechat.continue_page, name="wechat_continue")
    r.add_post("/auth/wechat/link-existing", wechat.link_existing, name="wechat_link_existing")
    r.add_post("/settings/wechat/bind", wechat.bind, name="wechat_bind")
    r.add_post("/settings/wechat/unbind", wechat.unbind, name="wechat_unbind")

    settings = app[settings_key]
    if settings.serve_static:
        r.add_static("/static/", settings.static_dir, name="static", append_version=True)
