"""Security primitives: password hashing, random tokens, digests, and safe `next` paths."""

from __future__ import annotations

import functools
import hashlib
import hmac
import re
import secrets
import string
import unicodedata
from urllib.parse import unquote, urlsplit

from argon2 import Parameters, PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from argon2.profiles import get_default_parameters

_ALPHANUMERIC = string.ascii_letters + string.digits
# random_alnum in one C call per read: each byte b maps to _ALPHANUMERIC[b % 62]; 248..255 are dropped.
_ALPHANUMERIC_BY_BYTE = bytes(ord(_ALPHANUMERIC[b % 62]) for b in range(256))
_UNEVEN_BYTES = bytes(range(248, 256))
# The usual `next`: a path of printable ASCII without percent-encoding, backslashes, or a second leading slash.
_PLAIN_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9._~!$&'()*+,;=:@/?-]*")
# argon2id with the library's current recommended parameters (RFC 9106's low-memory profile).
PRODUCTION_PARAMETERS = get_default_parameters()


class Argon2:
    """argon2id at one cost, with the dummy hash that equalises an unknown user's timing at that cost."""

    def __init__(self, parameters: Parameters) -> None:
        self.hasher = PasswordHasher.from_parameters(parameters)

    @functools.cached_property
    def dummy_hash(self) -> str:
        """Verified against when the username is unknown, so both failures cost the same time.

        Made on first use, not at import: commands that never verify a password skip its cost. The site
        makes it at start-up (Passwords.warm), so even its first unknown username costs one verification.
        """
        return self.hasher.hash("not the password of anyone: equalises timing")


_PRODUCTION = Argon2(PRODUCTION_PARAMETERS)


def hash_password(password: str, argon2: Argon2 = _PRODUCTION) -> str:
    """Hash a password with argon2id."""
    return argon2.hasher.hash(password)


def verify_password(password_hash: str | None, password: str, argon2: Argon2 = _PRODUCTION) -> bool:
    """Check a password; with no hash (unknown user) still spend the time of one verification."""
    try:
        return argon2.hasher.verify(password_hash or argon2.dummy_hash, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str, argon2: Argon2 = _PRODUCTION) -> bool:
    """True when the hash was made with weaker parameters than `argon2`'s."""
    return argon2.hasher.check_needs_rehash(password_hash)


def random_alnum(length: int = 32) -> str:
    """A random `[A-Za-z0-9]` string: fits WeChat's official-account `state` rules.

    One read of the system's randomness for the whole string (secrets.choice makes one per character):
    bytes below 248 = 4 × 62 map evenly onto the 62 characters, the others are skipped.
    """
    chars = b""
    while len(chars) < length:
        chars += secrets.token_bytes(length + 8).translate(_ALPHANUMERIC_BY_BYTE, _UNEVEN_BYTES)
    return chars[:length].decode("ascii")


def random_token(nbytes: int = 32) -> str:
    """A random url-safe token."""
    return secrets.token_urlsafe(nbytes)


def digest(value: str) -> str:
    """sha256 hex of a secret value: what we store instead of the value itself."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def safe_next(raw: object, default: str = "/") -> str:
    """Return `raw` if it is a path on this site, else `default` (no open redirects, nothing odd)."""
    if not isinstance(raw, str) or not raw or len(raw) > 2000:
        return default
    if _PLAIN_PATH.fullmatch(raw):
        return raw  # nothing to decode, no other host: _checked_next would pass it too (a test holds it to that)
    return _checked_next(raw, default)


def _checked_next(raw: str, default: str) -> str:
    """safe_next's full check, for values that are not a plain path."""
    if any(unicodedata.category(ch)[0] in "CZ" and ch != " " for ch in raw) or " " in raw:
        return default  # control, format, separator characters: tricks browsers normalise away
    decoded = raw
    for _ in range(3):  # look through percent-encoding layers too
        if not _is_local_path(decoded):
            return default
        decoded = unquote(decoded)
    return raw if _is_local_path(decoded) else default


def _is_local_path(value: str) -> bool:
    if not value.startswith("/") or value.startswith(("//", "/\\")) or "\\" in value:
        return False
    if any(unicodedata.category(ch)[0] in "CZ" for ch in value):
        return False
    parts = urlsplit(value)
    return not parts.scheme and not parts.netloc
