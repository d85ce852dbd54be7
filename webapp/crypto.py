"""Encryption of WeChat tokens at rest (Fernet/MultiFernet: the first key encrypts, all decrypt)."""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

__all__ = ["InvalidToken", "TokenCipher"]


class TokenCipher:
    """Encrypts with the first of TOKEN_KEYS and decrypts with any of them, so keys can rotate."""

    def __init__(self, keys: Sequence[str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is required")
        self._fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        """Encrypt a token for storage."""
        return self._fernet.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, ciphertext: str) -> str:
        """Decrypt a stored token; raises InvalidToken if no key fits."""
        return self._fernet.decrypt(ciphertext.encode("ascii")).decode("utf-8")

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt under the current first key."""
        return self._fernet.rotate(ciphertext.encode("ascii")).decode("ascii")
