"""Typed errors of the official account's cgi-bin APIs (stable_token, qrcode/create, user/info).

cgi-bin answers errors with HTTP 200 and ``{"errcode": N, "errmsg": "..."}`` (docs/wechat.md,
"Errcodes the code acts on"). Match on the class, never on errmsg. Messages never hold a secret or a token.

    WeChatError (webapp.wechat.errors)
    └── MpError                   base of this package; errcode (None for transport), errmsg, path
        ├── MpUnavailable         timeout, dropped connection, non-200, not a JSON object, missing field
        │   └── KeyMissing        the stored interface token needs a TOKEN_KEYS key this process lacks
        └── MpAPIError            any errcode != 0 (unknown codes are raised as this class)
            ├── TokenRejected     40001 (wrong or "not latest": force a refresh), 40014, 42001
            ├── Misconfigured     40002, 40013, 40125, 40243, 41002, 41004: appid/secret problems
            ├── IpNotAllowed      40164: the server's IP is not in the account's whitelist
            ├── AdminApproval     89501, 89503, 89506, 89507: an administrator must confirm the IP
            ├── NotPermitted      48001, 50001: the account type may not call this API (e.g. not a
            │                     verified service account for parametric QR codes)
            ├── InvalidOpenid     40003
            ├── RateLimited       45009, 45011
            └── Busy              -1
"""

from __future__ import annotations

from typing import ClassVar

from webapp.wechat.errors import WeChatError

INVALID_CREDENTIAL = 40001


class MpError(WeChatError):
    """Base of every official-account API error."""


class MpUnavailable(MpError):
    """WeChat could not be reached, or answered something that is not a usable JSON object."""

    retryable = True


class KeyMissing(MpUnavailable):
    """The stored interface token was encrypted with a key this process does not have (a rotation under way)."""

    retryable = False


class MpAPIError(MpError):
    """WeChat answered with a non-zero errcode."""

    errcodes: ClassVar[frozenset[int]] = frozenset()

    def __init__(self, errcode: int, errmsg: str = "", *, path: str | None = None) -> None:
        super().__init__(errmsg, errcode=errcode, path=path)
        self.errcode: int = errcode

    @classmethod
    def from_payload(cls, errcode: int, errmsg: str, *, path: str | None = None) -> MpAPIError:
        """The most specific class for this errcode."""
        klass = next((k for k in _CLASSES if errcode in k.errcodes), MpAPIError)
        return klass(errcode, errmsg, path=path)


class TokenRejected(MpAPIError):
    """The interface token is invalid, not the latest, or expired: get another and call again."""

    errcodes = frozenset({INVALID_CREDENTIAL, 40014, 42001})

    @property
    def needs_force_refresh(self) -> bool:
        """Only 40001 ("not latest") justifies stable_token's rationed force_refresh."""
        return self.errcode == INVALID_CREDENTIAL


class Misconfigured(MpAPIError):
    """The appid, secret or grant type is wrong: the operator must fix the configuration."""

    errcodes = frozenset({40002, 40013, 40125, 40243, 41002, 41004})


class IpNotAllowed(MpAPIError):
    """The calling server's IP is not in the official account's whitelist (基本配置 → IP白名单)."""

    errcodes = frozenset({40164})


class AdminApproval(MpAPIError):
    """An administrator must approve (or refused) calls from this IP."""

    errcodes = frozenset({89501, 89503, 89506, 89507})


class NotPermitted(MpAPIError):
    """This account may not use the API (parametric QR codes need a verified service account)."""

    errcodes = frozenset({48001, 50001})


class InvalidOpenid(MpAPIError):
    """The openid does not belong to this official account."""

    errcodes = frozenset({40003})


class RateLimited(MpAPIError):
    """A daily or per-minute quota is exhausted."""

    retryable = True
    errcodes = frozenset({45009, 45011})


class Busy(MpAPIError):
    """WeChat reported a transient system error."""

    retryable = True
    errcodes = frozenset({-1})


_CLASSES = (TokenRejected, Misconfigured, IpNotAllowed, AdminApproval, NotPermitted, InvalidOpenid, RateLimited, Busy)
