"""The whole URL map; every route is named and views redirect by name."""

from __future__ import annotations

from aiohttp import web

from webapp import pages
from webapp.accounts import closing_views, profile_views
from webapp.accounts import views as accounts
from webapp.avatars import picture_views
from webapp.avatars import views as avatars
from webapp.keys import settings_key
from webapp.observability import views as observability  # observability
from webapp.wechat import account_views as wechat_account
from webapp.wechat import callback as wechat_callback
from webapp.wechat import views as wechat
from webapp.wechat.mini import settings_views as mini_settings
from webapp.wechat.mini import views as mini_views
from webapp.wechat.mini.runtime import mini_program
from webapp.wechat.mp import follow as mp_follow
from webapp.wechat.mp import views as mp_views
from webapp.wechat.mp.runtime import follow_login_enabled


def setup_routes(app: web.Application) -> None:
    """Register every route of the site."""
    r = app.router
    r.add_get("/", pages.home, name="home")
    r.add_get("/healthz", pages.healthz, name="healthz")
    r.add_get("/readyz", observability.readyz, name="readyz")  # observability
    r.add_get("/metrics", observability.metrics, name="metrics")  # observability: METRICS_ALLOW only
    r.add_get("/api/me", pages.api_me, name="api_me")
    r.add_post("/api/logout", mini_views.logout, name="api_logout")
    r.add_get("/lang/{locale}", pages.set_language, name="set_language")
    r.add_get("/MP_verify_{token:[A-Za-z0-9]+}.txt", pages.mp_verify, name="mp_verify")
    r.add_get("/avatars/{user_id:[0-9]{1,18}}/{hash:[0-9a-f]{16}}", avatars.avatar, name="avatar")

    r.add_get("/login", accounts.login_page, name="login")
    r.add_post("/login", accounts.login, name="login_post")
    r.add_get("/signup", accounts.signup_page, name="signup")
    r.add_post("/signup", accounts.signup, name="signup_post")
    r.add_post("/logout", accounts.logout, name="logout")
    r.add_get("/settings", accounts.settings_page, name="settings")
    r.add_post("/settings/password", accounts.set_password, name="set_password")
    r.add_get("/settings/confirm", accounts.confirm_page, name="confirm")
    r.add_post("/settings/reauth", accounts.reauthenticate, name="reauth")
    r.add_post("/settings/confirm/wechat", wechat.reauth, name="wechat_reauth")
    r.add_post("/settings/sessions/logout-others", accounts.logout_others, name="logout_others")
    r.add_post("/settings/sessions/end", profile_views.end_session, name="end_session")
    r.add_post("/settings/profile", profile_views.update_profile, name="update_profile")
    r.add_post("/settings/username", profile_views.change_username, name="change_username")
    r.add_post("/settings/picture", picture_views.upload_picture, name="upload_picture")
    r.add_post("/settings/picture/remove", picture_views.remove_picture, name="remove_picture")
    r.add_post("/settings/picture/keep", picture_views.keep_picture, name="keep_picture")
    r.add_get("/settings/account/delete", closing_views.delete_page, name="delete_account_page")
    r.add_post("/settings/account/delete", closing_views.delete_account, name="delete_account")
    r.add_get("/settings/export", closing_views.export, name="export")
    r.add_post("/settings/phone/remove", mini_settings.remove_phone, name="remove_phone")

    r.add_get("/auth/wechat/start", wechat.start, name="wechat_start")
    r.add_post("/auth/wechat/embed-state", wechat.embed_state, name="wechat_embed_state")
    r.add_get("/auth/wechat/callback", wechat_callback.callback, name="wechat_callback")
    r.add_get("/auth/wechat/finish", wechat_callback.finish, name="wechat_finish")
    r.add_get("/auth/wechat/continue", wechat.continue_page, name="wechat_continue")
    r.add_post("/auth/wechat/link-existing", wechat.link_existing, name="wechat_link_existing")
    r.add_post("/settings/wechat/bind", wechat.bind, name="wechat_bind")
    r.add_get("/settings/wechat/unbind", wechat_account.unbind_page, name="wechat_unbind_page")
    r.add_post("/settings/wechat/unbind", wechat.unbind, name="wechat_unbind")
    r.add_post("/settings/wechat/merge", wechat_account.merge_accounts, name="wechat_merge")

    settings = app[settings_key]
    # The official account's server URL (404 until WECHAT_MP_TOKEN is set), and follow-to-log-in,
    # whose routes (and so the login page's block) exist only when WECHAT_MP_FOLLOW_LOGIN is on.
    r.add_get("/wechat/mp/events", mp_views.verify, name="wechat_mp_events")
    r.add_post("/wechat/mp/events", mp_views.receive, name="wechat_mp_events_post")
    if follow_login_enabled(settings):
        r.add_post("/auth/wechat/follow/qr", mp_follow.create_qr, name="wechat_follow_qr")
        r.add_get("/auth/wechat/follow/wait", mp_follow.wait, name="wechat_follow_wait")
        r.add_post("/auth/wechat/follow/claim", mp_follow.claim, name="wechat_follow_claim")
    if mini_program(settings) is not None:  # the mini program's API: 404 until WECHAT_MINI_APPID is set
        r.add_post("/api/wechat/mini/login", mini_views.login, name="wechat_mini_login")
        r.add_post("/api/wechat/mini/phone", mini_views.phone, name="wechat_mini_phone")
    if settings.dev:  # `webapp dev` only: try the in-WeChat path from an ordinary browser
        r.add_get("/_dev/wechat-browser", pages.dev_wechat_browser, name="dev_wechat_browser")
    if settings.serve_static:
        r.add_static("/static/", settings.static_dir, name="static", append_version=True)
