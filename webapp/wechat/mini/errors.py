"""Typed errors of the mini program's APIs (jscode2session, getuserphonenumber); match on the class, not errmsg.

    WeChatError (webapp.wechat.errors)
    └── MiniError                 errcode (None for transport), errmsg, path
        ├── MiniUnavailable       timeout, connection, non-200, not JSON, missing field, -1, 45009/45011,
        │                         misconfiguration (40013, 40125, 41002, 41004, 48001) and unknown errcodes
        ├── InvalidMiniCode       40029 (bad, expired, other app), 40163 (used): the client asks for a new code
        └── RiskyUser             40226: WeChat's risk control blocked this person's login
    Interface-token errors of getuserphonenumber (40001, 40014, 41001, 42001) are raised as
    webapp.wechat.mp.errors.TokenRejected, so the shared token store fetches another and retries once.
"""

from __future__ import annotations

from webapp.wechat.errors import WeChatError
from webapp.wechat.mp.errors import TokenRejected

INVALID_CODE_ERRCODES = frozenset({40029, 40163})
RISKY_ERRCODE = 40226
TOKEN_ERRCODES = frozenset({40001, 40014, 41001, 42001})


class MiniError(WeChatError):
    """Base of the mini program's API errors."""


class MiniUnavailable(MiniError):
    """No usable answer now: the person may try again later (503)."""

    retryable = True


class InvalidMiniCode(MiniError):
    """The code is unknown, expired, used or another app's (400 invalid_code)."""


class RiskyUser(MiniError):
    """WeChat refuses this person's login (403 risky_user)."""


def from_errcode(errcode: int, errmsg: str, *, path: str) -> WeChatError:
    """The error an errcode stands for."""
    if errcode in INVALID_CODE_ERRCODES:
        return InvalidMiniCode(errmsg, errcode=errcode, path=path)
    if errcode == RISKY_ERRCODE:
        return RiskyUser(errmsg, errcode=errcode, path=path)
    if errcode in TOKEN_ERRCODES:
        return TokenRejected(errcode, errmsg, path=path)
    return MiniUnavailable(errmsg, errcode=errcode, path=path)
