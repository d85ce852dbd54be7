"""WeChat's message-push crypto (§10.1-10.2): SHA-1 signatures and AES-256-CBC with PKCS#7 over 32-byte blocks.

Exceptions:
    PushCryptoError -- a ciphertext that does not decrypt, unpad or end with the expected appid.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

BLOCK = 32  # WeChat pads to 32 bytes although AES blocks are 16: 16-byte unpadders reject real traffic


class PushCryptoError(ValueError):
    """A push or reply that cannot be decrypted or does not belong to this app."""


def signature(*parts: str) -> str:
    """Return lowercase hex SHA-1 of the parts sorted bytewise and concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode("utf-8")).hexdigest()


def aes_key(encoding_aes_key: str) -> bytes:
    """Return the 32-byte key of a 43-character EncodingAESKey (its spare trailing bits are ignored)."""
    try:
        key = base64.b64decode(encoding_aes_key + "=")
    except (binascii.Error, ValueError) as exc:
        raise PushCryptoError(f"bad EncodingAESKey: {exc}") from exc
    if len(key) != 32:
        raise PushCryptoError("EncodingAESKey must decode to 32 bytes (43 characters)")
    return key


def _pad(data: bytes) -> bytes:
    """PKCS#7 with a 32-byte block: 1..32 bytes of padding."""
    amount = BLOCK - len(data) % BLOCK
    return data + bytes([amount]) * amount


def _unpad(data: bytes) -> bytes:
    """Strip PKCS#7 (block 32) padding, checking every pad byte."""
    amount = data[-1] if data else 0
    if not 1 <= amount <= BLOCK or data[-amount:] != bytes([amount]) * amount:
        raise PushCryptoError("bad PKCS#7 padding")
    return data[:-amount]


def _cipher(key: bytes) -> Cipher[modes.CBC]:
    """AES-256-CBC with IV = key[:16], as WeChat does."""
    return Cipher(algorithms.AES(key), modes.CBC(key[:16]))


def encrypt(key: bytes, message: bytes, appid: str, *, random16: bytes | None = None) -> str:
    """Return base64(AES(random16 ‖ uint32_be(len) ‖ message ‖ appid)), padded to 32 bytes."""
    plain = (random16 or secrets.token_bytes(16)) + struct.pack(">I", len(message)) + message + appid.encode()
    encryptor = _cipher(key).encryptor()
    return base64.b64encode(encryptor.update(_pad(plain)) + encryptor.finalize()).decode("ascii")


def decrypt(key: bytes, encrypted: str, appid: str) -> bytes:
    """Return the message inside `encrypted`, checking padding, length and the trailing appid."""
    try:
        raw = base64.b64decode(encrypted, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PushCryptoError(f"not base64: {exc}") from exc
    if not raw or len(raw) % 16:
        raise PushCryptoError("ciphertext is not a whole number of AES blocks")
    decryptor = _cipher(key).decryptor()
    plain = _unpad(decryptor.update(raw) + decryptor.finalize())
    if len(plain) < 20:
        raise PushCryptoError("plaintext too short")
    (length,) = struct.unpack(">I", plain[16:20])
    message, tail = plain[20:20 + length], plain[20 + length:]
    if len(message) != length:
        raise PushCryptoError("declared length exceeds the plaintext")
    if tail != appid.encode():
        raise PushCryptoError(f"appid mismatch: {tail[:64]!r}")
    return message
