"""The mini program's one-shot codes (wx.login and getPhoneNumber), session keys and per-user call budget (§11)."""

from __future__ import annotations

import base64
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from webapp.wechat_sim import ids
from webapp.wechat_sim.expiry import ExpiringStore

CODE_TTL_S = 300.0  # both kinds of code: 5 minutes, single use
USED_KEEP_S = 3600.0  # a used code is remembered a while so its reuse says 40163, not 40029
LOGINS_PER_MINUTE = 100  # jscode2session per user per minute, then 45011


@dataclass
class MiniCode:
    """One code handed to the mini program's front end."""

    code: str
    appid: str
    user_id: int
    expires_at: float
    used: bool = False


def new_session_key() -> str:
    """A session_key as WeChat issues it: base64 of 16 random bytes (24 characters)."""
    return base64.b64encode(secrets.token_bytes(16)).decode("ascii")


class MiniBook:
    """Login codes, phone codes, the current session_key per (appid, user), risky users and the minute budget."""

    def __init__(self, now: Callable[[], float], risky: frozenset[int] = frozenset()) -> None:
        self.now = now
        self.login_codes: ExpiringStore[str, MiniCode] = ExpiringStore(now)
        self.phone_codes: ExpiringStore[str, MiniCode] = ExpiringStore(now)
        self.session_keys: dict[tuple[str, int], str] = {}
        self.risky: set[int] = set(risky)
        self._minute: dict[tuple[str, int], tuple[int, int]] = {}

    def issue_login_code(self, appid: str, user_id: int) -> MiniCode:
        """What wx.login gives the front end."""
        return self._issue(self.login_codes, appid, user_id)

    def issue_phone_code(self, appid: str, user_id: int) -> MiniCode:
        """What the getPhoneNumber button gives the front end after the user's consent."""
        return self._issue(self.phone_codes, appid, user_id)

    def _issue(self, store: ExpiringStore[str, MiniCode], appid: str, user_id: int) -> MiniCode:
        code = MiniCode(ids.new_code(), appid, user_id, self.now() + CODE_TTL_S)
        store.put(code.code, code, code.expires_at + USED_KEEP_S)
        return code

    def new_session_key(self, appid: str, user_id: int) -> str:
        """A login replaces the user's session_key for this mini program."""
        key = self.session_keys[(appid, user_id)] = new_session_key()
        return key

    def take_minute_budget(self, appid: str, user_id: int) -> bool:
        """Count one jscode2session call of this user; False past LOGINS_PER_MINUTE this minute."""
        minute = int(self.now() // 60)
        seen, count = self._minute.get((appid, user_id), (minute, 0))
        count = count if seen == minute else 0
        if count >= LOGINS_PER_MINUTE:
            return False
        self._minute[(appid, user_id)] = (minute, count + 1)
        return True
