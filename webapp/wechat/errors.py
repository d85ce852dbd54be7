"""Typed errors for WeChat's /sns/* APIs.

WeChat answers errors with HTTP 200 and ``{"errcode": N, "errmsg": "..."}``; the client's
chokepoint turns those into the classes below. Match on the class (or ``errcode``), never on
``errmsg``, whose wording and ``rid`` suffix change.

    WeChatError                      base; carries errcode (None for transport), errmsg, path
    ├── WeChatUnavailable            timeout, reset/dropped connection, non-200, body not a JSON object
    │   └── MalformedResponse        errcode 0 but a required field is missing or has the wrong type
    └── WeChatAPIError               any errcode != 0 (unknown codes are raised as this class)
        ├── InvalidCode              40029, 42003: unknown, expired or other-app code → restart login
        ├── CodeAlreadyUsed          40163: second exchange of a code (double callback, retry)
        ├── ReauthRequired           the stored refresh_token is dead → the user must authorize again
        │   ├── RefreshTokenInvalid  40030
        │   └── RefreshTokenExpired  42002
        ├── AccessTokenExpired       42001 → refresh, then call again
        ├── AccessTokenInvalid       40001, 40014
        ├── ScopeUnauthorized        48001, 50001 (e.g. a snsapi_base token on /sns/userinfo)
        ├── InvalidOpenid            40003
        ├── RateLimited              45009, 45011
        ├── WeChatBusy               -1
        └── Misconfigured            40013, 40125, 41002, 41004: bad appid/secret, an operator problem

``retryable`` says whether the same call, repeated later with the same inputs and no user or
operator action, may succeed. The client itself only retries ``WeChatBusy`` and ``RateLimited``
(and never the code exchange).

No exception ever contains a secret, code or token: the client builds messages from the path and
WeChat's errmsg only, and redacts request values that WeChat might echo back.
"""

from __future__ import annotations

from typing import ClassVar

# Errcodes, named as in wechatpy's WeChatErrorCode where it has them.
SYSTEM_BUSY = -1
OK = 0
INVALID_CREDENTIAL = 40001
INVALID_OPENID = 40003
INVALID_APPID = 40013
INVALID_ACCESS_TOKEN = 40014
INVALID_CODE = 40029
INVALID_REFRESH_TOKEN = 40030
INVALID_APPSECRET = 40125
CODE_BEEN_USED = 40163
MISSING_APPID = 41002
MISSING_APPSECRET = 41004
EXPIRED_ACCESS_TOKEN = 42001
EXPIRED_REFRESH_TOKEN = 42002
EXPIRED_CODE = 42003
REACH_DAILY_QUOTA = 45009
REACH_MINUTE_QUOTA = 45011
API_UNAUTHORIZED = 48001
USER_UNAUTHORIZED = 50001


class WeChatError(Exception):
    """Base of every error raised by the WeChat client."""

    retryable: ClassVar[bool] = False

    def __init__(self, errmsg: str, *, errcode: int | None = None, path: str | None = None) -> None:
        super().__init__(errmsg)
        self.errcode = errcode
        self.errmsg = errmsg
        self.path = path

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        code = "" if self.errcode is None else f"errcode {self.errcode}: "
        return f"{where}{code}{self.errmsg}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(errcode={self.errcode!r}, errmsg={self.errmsg!r}, path={self.path!r})"


class WeChatUnavailable(WeChatError):
    """WeChat could not be reached or did not answer with a JSON object."""

    retryable = True


class MalformedResponse(WeChatUnavailable):
    """WeChat said OK but the payload lacks a field we cannot do without."""

    # A well-formed JSON object with the wrong shape is a contract change, not a blip.
    retryable = False


class WeChatAPIError(WeChatError):
    """WeChat answered with a non-zero errcode."""

    errcodes: ClassVar[frozenset[int]] = frozenset()

    def __init__(self, errcode: int, errmsg: str = "", *, path: str | None = None) -> None:
        super().__init__(errmsg, errcode=errcode, path=path)
        self.errcode: int = errcode

    @classmethod
    def from_payload(cls, errcode: int, errmsg: str, *, path: str | None = None) -> WeChatAPIError:
        """Build the most specific error class for this errcode."""
        return _BY_ERRCODE.get(errcode, WeChatAPIError)(errcode, errmsg, path=path)


class InvalidCode(WeChatAPIError):
    """The code is unknown, expired, or was issued to another appid."""

    errcodes = frozenset({INVALID_CODE, EXPIRED_CODE})


class CodeAlreadyUsed(WeChatAPIError):
    """The code was already exchanged once."""

    errcodes = frozenset({CODE_BEEN_USED})


class ReauthRequired(WeChatAPIError):
    """The refresh_token is unusable; only a new authorization helps."""


class RefreshTokenInvalid(ReauthRequired):
    """The refresh_token is unknown or was revoked."""

    errcodes = frozenset({INVALID_REFRESH_TOKEN})


class RefreshTokenExpired(ReauthRequired):
    """The refresh_token passed its fixed 30-day life."""

    errcodes = frozenset({EXPIRED_REFRESH_TOKEN})


class AccessTokenExpired(WeChatAPIError):
    """The access_token expired; refresh it."""

    errcodes = frozenset({EXPIRED_ACCESS_TOKEN})


class AccessTokenInvalid(WeChatAPIError):
    """The access_token is not recognised (or not the latest)."""

    errcodes = frozenset({INVALID_CREDENTIAL, INVALID_ACCESS_TOKEN})


class ScopeUnauthorized(WeChatAPIError):
    """The token's scope does not allow this API."""

    errcodes = frozenset({API_UNAUTHORIZED, USER_UNAUTHORIZED})


class InvalidOpenid(WeChatAPIError):
    """The openid does not belong to this token or app."""

    errcodes = frozenset({INVALID_OPENID})


class RateLimited(WeChatAPIError):
    """A WeChat quota was exhausted."""

    retryable = True
    errcodes = frozenset({REACH_DAILY_QUOTA, REACH_MINUTE_QUOTA})


class WeChatBusy(WeChatAPIError):
    """WeChat reported a transient system error (-1)."""

    retryable = True
    errcodes = frozenset({SYSTEM_BUSY})


class Misconfigured(WeChatAPIError):
    """The appid or secret is wrong or missing: the operator must fix the configuration."""

    errcodes = frozenset({INVALID_APPID, INVALID_APPSECRET, MISSING_APPID, MISSING_APPSECRET})


def _index(*classes: type[WeChatAPIError]) -> dict[int, type[WeChatAPIError]]:
    index: dict[int, type[WeChatAPIError]] = {}
    for klass in classes:
        for code in klass.errcodes:
            if code in index:
                raise ValueError(f"errcode {code} mapped to two classes")
            index[code] = klass
    return index


_BY_ERRCODE = _index(
    InvalidCode,
    CodeAlreadyUsed,
    RefreshTokenInvalid,
    RefreshTokenExpired,
    AccessTokenExpired,
    AccessTokenInvalid,
    ScopeUnauthorized,
    InvalidOpenid,
    RateLimited,
    WeChatBusy,
    Misconfigured,
)
