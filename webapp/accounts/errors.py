"""Why an account operation was refused.

AccountError
├── UsernameTaken          the username's key is already used (the unique constraint decided)
├── InvalidCredentials     wrong username or password (never says which)
├── WrongPassword          the logged-in user's current password does not match
├── AccountDisabled        an administrator disabled the account: no login by any method
└── TooManyAttempts        throttled; `minutes` until the next attempt is allowed, `scopes` which limits
"""

from __future__ import annotations


class AccountError(Exception):
    """Base of every refusal by the accounts service."""


class UsernameTaken(AccountError):
    """Someone already has this username (compared NFKC-casefolded)."""


class InvalidCredentials(AccountError):
    """The username does not exist or the password is wrong; deliberately the same error."""


class WrongPassword(AccountError):
    """The current password given to confirm a change is wrong."""


class AccountDisabled(AccountError):
    """The account was disabled by an administrator."""


class TooManyAttempts(AccountError):
    """Too many recent failures for this username or this client address."""

    def __init__(self, minutes: int, *, scopes: tuple[str, ...] = ()) -> None:
        super().__init__(f"throttled for {minutes} more minute(s)")
        self.minutes = minutes
        self.scopes = scopes
