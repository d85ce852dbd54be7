"""The one place follow-login meets the core: its login rules and its session (both being reworked).

Everything core-specific about "log this browser in as the person who scanned" is in
`log_in_browser`; the rest of the package only sees `SignIn`.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from webapp.accounts.account import Account
from webapp.accounts.session import login_user
from webapp.keys import cipher_key, clock_key, database_key, settings_key
from webapp.observability import metrics
from webapp.wechat import flow, pages, service
from webapp.wechat.grants import Grant
from webapp.wechat.mp.api import Follower
from webapp.wechat.schemas import WeChatApp

FLOW = "mp_follow"


@dataclass(frozen=True)
class SignIn:
    """How the login ended: "login" with where to go next, or "failed" with a reason."""

    kind: str
    reason: str = ""
    redirect: str = ""


async def log_in_browser(request: web.Request, app: WeChatApp, follower: Follower, *, next_path: str) -> SignIn:
    """Apply the login rules to the scanner (link by unionid, else openid, else a new account); log in."""
    db = request.app[database_key]
    # Follow-login has no OAuth grant: an identity known without tokens.
    grant = Grant(openid=follower.openid, unionid=follower.unionid, token=None, profile=None)
    outcome = await service.login(
        db, request.app[cipher_key], app, grant, actor=flow.actor(request, FLOW), now=request.app[clock_key](),
        consent_url=request.app[settings_key].privacy_url,  # the login page says so beside the QR
    )
    if outcome.kind != "login" or outcome.user_id is None:
        metrics.login(flow.METHODS[FLOW], "disabled" if outcome.reason == "disabled" else "error")
        return SignIn("failed", outcome.reason or outcome.kind)
    metrics.login(flow.METHODS[FLOW], "success")
    fields = await service.logged_in_account(db, outcome)
    if fields is None:  # disabled between the login and now
        return SignIn("failed", "disabled")
    account = Account.from_row(fields)
    await login_user(request, account, method=flow.METHODS[FLOW])
    if outcome.created:  # offer "set a password" / "I already have an account", as the QR login does
        await pages.remember_outcome(request, outcome, next_path=next_path, fresh_user_id=account.id)
        return SignIn("login", redirect=str(request.app.router["wechat_continue"].url_for()))
    return SignIn("login", redirect=next_path)
