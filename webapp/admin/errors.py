"""Why an admin command refused to act.

AdminError
├── UnknownUser        WHO matches no account
├── AmbiguousUser      WHO matches several accounts (an `id:`/`username:`/`openid:`/`unionid:` prefix picks one)
└── LastLoginMethod    unbinding WeChat would leave the account no way to log in
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class AdminError(Exception):
    """An admin command that cannot be carried out; the message says why, for the operator."""


class UnknownUser(AdminError):
    """WHO matches no account."""

    def __init__(self, who: str) -> None:
        super().__init__(f"no account matches {who!r}")
        self.who = who


class AmbiguousUser(AdminError):
    """WHO matches more than one account: the operator must say which kind of name it is."""

    def __init__(self, who: str, matches: Mapping[str, Sequence[int]]) -> None:
        found = "; ".join(f"{kind} of user {', '.join(map(str, ids))}" for kind, ids in matches.items())
        super().__init__(
            f"{who!r} is ambiguous ({found}): prefix it with id:, username:, openid: or unionid:"
        )
        self.who = who
        self.matches = dict(matches)


class LastLoginMethod(AdminError):
    """The account has no password: without WeChat it could not log in at all."""

    def __init__(self, user_id: int) -> None:
        super().__init__(
            f"user {user_id} has no password: removing WeChat would leave no way to log in "
            "(the user can set a password in Settings first)"
        )
        self.user_id = user_id
