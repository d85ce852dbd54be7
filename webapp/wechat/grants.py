"""What one authorization says about a person (Grant), read from WeChat: the code exchange and, when needed, the profile."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from webapp.wechat.client import WeChatClient
from webapp.wechat.errors import MalformedResponse, WeChatError
from webapp.wechat.outcome import Outcome, failure
from webapp.wechat.schemas import OAuthToken, WeChatApp, WeChatProfile

log = logging.getLogger("webapp.wechat")


@dataclass(frozen=True)
class Grant:
    """What WeChat told us about one person in one app: who, the OAuth tokens (if any), the profile."""

    openid: str
    unionid: str | None
    token: OAuthToken | None  # None for an identity known without an OAuth grant (follow-login)
    profile: WeChatProfile | None

    @classmethod
    def from_exchange(cls, token: OAuthToken, profile: WeChatProfile | None) -> Grant:
        """A code exchange and the profile read with its token; they must agree on who this is."""
        if profile is not None and profile.unionid and token.unionid and profile.unionid != token.unionid:
            raise MalformedResponse("token and profile disagree on the unionid")
        return cls(token.openid, token.unionid or (profile.unionid if profile else None), token, profile)


async def exchange(client: WeChatClient, app: WeChatApp, code: str) -> Grant | Outcome:
    """Exchange the code (never retried); the profile is read later, only when the login needs it."""
    try:
        token = await client.exchange_code(app, code)
    except WeChatError as exc:
        return failure(exc, app=app)
    if token.is_snapshot_user:
        return Outcome("snapshot")
    return Grant.from_exchange(token, None)


async def with_profile(client: WeChatClient, app: WeChatApp, grant: Grant) -> Grant:
    """The grant with the person's profile, when its scope allows reading it (a failure leaves it out)."""
    token = grant.token
    if grant.profile is not None or token is None or not token.allows_profile():
        return grant
    try:
        profile = await client.user_info(token.access_token, token.openid)
    except WeChatError as exc:  # the login does not depend on the profile
        log.warning("userinfo failed for app %s: %s", app.appid, type(exc).__name__)
        return grant
    return Grant.from_exchange(token, profile)  # MalformedResponse if it names another person


ProfileFetcher = Callable[[Grant], Awaitable[Grant]]
