"""Authorization codes, grants and tokens, with WeChat's lifetimes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from webapp.wechat_sim import ids
from webapp.wechat_sim.expiry import ExpiringStore
from webapp.wechat_sim.fixture import Fixture, SimApp

CODE_TTL_S = {"website": 600.0, "official_account": 300.0}
ACCESS_TTL_S = 7200.0
REFRESH_TTL_S = 30 * 86400.0
RECENT_AUTH_S = REFRESH_TTL_S
# Dead tokens are remembered this long so they answer 42001/42002 rather than "invalid".
EXPIRED_MEMORY_S = REFRESH_TTL_S


@dataclass
class Code:
    """An authorization code: single use, bound to one app."""

    code: str
    appid: str
    user_id: int
    scope: str
    snapshot: bool
    expires_at: float
    used: bool = False


@dataclass
class AccessToken:
    """One access_token value of a grant; a grant gets a new one only after the old expired."""

    token: str
    grant: Grant
    expires_at: float


@dataclass
class Grant:
    """What one successful code exchange created: a refresh_token and its current access_token."""

    app: SimApp
    user_id: int
    openid: str
    unionid: str | None
    scope: str
    snapshot: bool
    refresh_token: str
    refresh_expires_at: float
    generation: int
    access: AccessToken | None = None


class GrantBook:
    """Codes and tokens keyed for O(1) lookup, each purged once it can no longer matter."""

    def __init__(self, fixture: Fixture, now: Callable[[], float]) -> None:
        self.fixture = fixture
        self.now = now
        self.codes: ExpiringStore[str, Code] = ExpiringStore(now)
        self.access: ExpiringStore[str, AccessToken] = ExpiringStore(now)
        self.refresh: ExpiringStore[str, Grant] = ExpiringStore(now)
        self._generations: dict[tuple[str, int], int] = {}
        self._consents: dict[tuple[str, int], float] = {}

    def issue_code(self, app: SimApp, user_id: int, scope: str, *, snapshot: bool = False) -> Code:
        """Create a code as if `user_id` just authorized `app` with `scope`."""
        code = Code(ids.new_code(), app.appid, user_id, scope, snapshot, self.now() + CODE_TTL_S[app.kind])
        self.codes.put(code.code, code, code.expires_at)
        return code

    def grant_for(self, app: SimApp, code: Code) -> Grant:
        """Turn a consumed code into a grant with a fresh token pair."""
        key = (app.appid, code.user_id)
        if self.fixture.new_grant_revokes_previous and not code.snapshot:
            self._generations[key] = self._generations.get(key, 0) + 1
        now = self.now()
        grant = Grant(app, code.user_id, *self._identity(app, code), code.scope, code.snapshot,
                      ids.new_token(), now + REFRESH_TTL_S, self._generations.get(key, 0))
        self.refresh.put(grant.refresh_token, grant, grant.refresh_expires_at + EXPIRED_MEMORY_S)
        self.new_access_token(grant)
        return grant

    def _identity(self, app: SimApp, code: Code) -> tuple[str, str | None]:
        """Return (openid, unionid) for a code: unionid only where WeChat gives one."""
        with_union = app.bound and (app.kind == "website" or code.scope == "snsapi_userinfo")
        if code.snapshot:
            return ids.virtual_id(), ids.virtual_id() if with_union else None
        unionid = self.fixture.unionid(code.user_id) if with_union else None
        return self.fixture.openid(app, code.user_id), unionid

    def new_access_token(self, grant: Grant) -> AccessToken:
        """Give `grant` a new access_token valid for 7200 s."""
        token = AccessToken(ids.new_token(), grant, self.now() + ACCESS_TTL_S)
        grant.access = token
        self.access.put(token.token, token, grant.refresh_expires_at + EXPIRED_MEMORY_S)
        return token

    def is_live(self, grant: Grant) -> bool:
        """Return False once the user revoked, or a newer grant superseded, this grant."""
        if grant.snapshot:
            return True
        return grant.generation == self._generations.get((grant.app.appid, grant.user_id), 0)

    def revoke(self, appid: str, user_id: int) -> None:
        """The user withdrew the app's authorization: every grant and consent dies."""
        key = (appid, user_id)
        self._generations[key] = self._generations.get(key, 0) + 1
        self._consents.pop(key, None)

    def record_consent(self, appid: str, user_id: int) -> None:
        """Remember that the user allowed snsapi_userinfo for this app now."""
        self._consents[(appid, user_id)] = self.now()

    def recently_authorized(self, appid: str, user_id: int) -> bool:
        """Return True if the user allowed snsapi_userinfo for this app recently."""
        at = self._consents.get((appid, user_id))
        return at is not None and self.now() - at < RECENT_AUTH_S

    def purge(self) -> int:
        """Drop every expired code and token now; return how many."""
        return self.codes.purge() + self.access.purge() + self.refresh.purge()
