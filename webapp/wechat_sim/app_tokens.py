"""App (interface) access tokens: /cgi-bin/token and /cgi-bin/stable_token, isolated from each other (§10.4)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from webapp.wechat_sim import errors as e
from webapp.wechat_sim import ids
from webapp.wechat_sim.errors import SnsError

APP_TOKEN_TTL_S = 7200.0
OVERLAP_S = 300.0
FORCE_REFRESH_GAP_S = 30.0
FORCE_REFRESH_PER_DAY = 20
TOKEN_CALLS_PER_DAY = 2000
CHINA_UTC_OFFSET_S = 8 * 3600  # WeChat's daily quotas reset at midnight Beijing time
TOKEN, STABLE = "token", "stable"


@dataclass
class AppToken:
    """One app access_token; `valid_until` is earlier than `expires_at` once a newer token superseded it."""

    value: str
    appid: str
    kind: str
    expires_at: float
    valid_until: float

    @property
    def superseded(self) -> bool:
        """True when a newer token cut this one's life short."""
        return self.valid_until < self.expires_at


class DailyCounter:
    """Calls per key on the current Beijing calendar day; only today's counts are kept."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._counts: dict[tuple[str, str], tuple[int, int]] = {}

    def take(self, key: tuple[str, str], limit: int) -> bool:
        """Count one call; return False (and count nothing) once `limit` calls were made today."""
        day = int((self._now() + CHINA_UTC_OFFSET_S) // 86400)
        seen_day, count = self._counts.get(key, (day, 0))
        count = count if seen_day == day else 0
        if count >= limit:
            return False
        self._counts[key] = (day, count + 1)
        return True


class AppTokenBook:
    """The current and previous token per (app, kind); anything older is forgotten and answers 40001."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.daily = DailyCounter(now)
        self._by_value: dict[str, AppToken] = {}
        self._current: dict[tuple[str, str], AppToken] = {}
        self._previous: dict[tuple[str, str], AppToken] = {}
        self._last_force: dict[str, float] = {}

    def _issue(self, appid: str, kind: str, *, overlap: bool) -> AppToken:
        """Make a new current token; the old one lives OVERLAP_S more seconds, or dies now without overlap."""
        key, now = (appid, kind), self.now()
        old, older = self._current.get(key), self._previous.pop(key, None)
        if older is not None:
            self._by_value.pop(older.value, None)
        if old is not None and overlap:
            old.valid_until = min(old.valid_until, now + OVERLAP_S)
            self._previous[key] = old
        elif old is not None:
            self._by_value.pop(old.value, None)
        token = AppToken(ids.new_app_token(), appid, kind, now + APP_TOKEN_TTL_S, now + APP_TOKEN_TTL_S)
        self._current[key] = self._by_value[token.value] = token
        return token

    def token(self, appid: str) -> AppToken:
        """/cgi-bin/token: always a new token; the previous one stays valid 5 more minutes."""
        if not self.daily.take((appid, TOKEN), TOKEN_CALLS_PER_DAY):
            raise SnsError(e.DAILY_QUOTA)
        return self._issue(appid, TOKEN, overlap=True)

    def stable(self, appid: str, *, force: bool) -> AppToken:
        """/cgi-bin/stable_token: the current token, rotated 5 minutes before expiry, or a forced new one."""
        now, current = self.now(), self._current.get((appid, STABLE))
        if force and now - self._last_force.get(appid, -FORCE_REFRESH_GAP_S) >= FORCE_REFRESH_GAP_S:
            if not self.daily.take((appid, "force"), FORCE_REFRESH_PER_DAY):
                raise SnsError(e.DAILY_QUOTA)
            self._last_force[appid] = now
            return self._issue(appid, STABLE, overlap=False)
        if current is None or current.expires_at - now <= OVERLAP_S:
            return self._issue(appid, STABLE, overlap=True)
        return current

    def check(self, value: str) -> AppToken:
        """Return the live token, or raise 40001 (unknown, superseded) / 42001 (expired)."""
        token = self._by_value.get(value)
        if token is None or (token.superseded and token.valid_until <= self.now()):
            raise SnsError(e.INVALID_CREDENTIAL, e.CGI_INVALID_CREDENTIAL)
        if token.expires_at <= self.now():
            raise SnsError(e.ACCESS_TOKEN_EXPIRED)
        return token
