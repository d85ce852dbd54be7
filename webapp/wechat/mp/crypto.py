"""Message-push cryptography of the official account: signatures and the AES envelope.

WeChat's scheme (docs/wechat.md, "Server URL verification and message push"): signature = sha1 of the byte-sorted, concatenated parts;
key = base64(EncodingAESKey + "="); AES-256-CBC with IV = key[:16]; plaintext =
random16 ‖ uint32_be(len(msg)) ‖ msg ‖ appid, PKCS#7-padded to 32-byte blocks (not AES's 16).
Always check `msg_signature` before decrypting: CBC has no integrity of its own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
import struct

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

PAD_BLOCK = 32
_AES_KEY_RE = re.compile(r"[A-Za-z0-9]{43}")
_HEADER = struct.Struct(">I")
_MAX_ENCRYPTED_CHARS = 256 * 1024


class CryptoError(ValueError):
    """A pushed ciphertext could not be opened: wrong key, corrupt, or meant for another app."""


class WrongAppId(CryptoError):
    """The ciphertext opened, but its trailing appid is not ours."""


def signature(*parts: str) -> str:
    """WeChat's signature: lowercase hex sha1 of the parts, sorted bytewise and concatenated."""
    return hashlib.sha1(b"".join(sorted(p.encode("utf-8") for p in parts))).hexdigest()


def signature_matches(supplied: str, *parts: str) -> bool:
    """Constant-time check of a supplied signature (hex, any case) against the parts."""
    return hmac.compare_digest(supplied.lower().encode("utf-8"), signature(*parts).encode("ascii"))


def aes_key(encoding_aes_key: str) -> bytes:
    """The 32-byte key behind a 43-character EncodingAESKey (its 2 spare trailing bits are ignored)."""
    if not _AES_KEY_RE.fullmatch(encoding_aes_key):
        raise ValueError("EncodingAESKey must be 43 letters or digits")
    return base64.b64decode(encoding_aes_key + "=")


class MessageCrypto:
    """Seals and opens pushed messages of one official account."""

    def __init__(self, token: str, encoding_aes_key: str, appid: str) -> None:
        self.token = token
        self.appid = appid
        self._key = aes_key(encoding_aes_key)

    def __repr__(self) -> str:
        return f"MessageCrypto(appid={self.appid!r})"

    def sign(self, timestamp: str, nonce: str, encrypted: str) -> str:
        """msg_signature over Token, timestamp, nonce and the Encrypt value."""
        return signature(self.token, timestamp, nonce, encrypted)

    def encrypt(self, message: bytes, *, random16: bytes | None = None) -> str:
        """Seal a message for WeChat (base64 text for an <Encrypt> element)."""
        prefix = os.urandom(16) if random16 is None else random16
        if len(prefix) != 16:
            raise ValueError("random16 must be 16 bytes")
        plain = prefix + _HEADER.pack(len(message)) + message + self.appid.encode("utf-8")
        pad = PAD_BLOCK - len(plain) % PAD_BLOCK
        encryptor = self._cipher().encryptor()
        sealed = encryptor.update(plain + bytes([pad]) * pad) + encryptor.finalize()
        return base64.b64encode(sealed).decode("ascii")

    def decrypt(self, encrypted: str) -> bytes:
        """Open an <Encrypt> value; raise CryptoError unless it is well formed and for our appid."""
        if len(encrypted) > _MAX_ENCRYPTED_CHARS:
            raise CryptoError("ciphertext too long")
        try:
            sealed = base64.b64decode(encrypted, validate=True)
        except (binascii.Error, ValueError):
            raise CryptoError("ciphertext is not base64") from None
        if not sealed or len(sealed) % 16:
            raise CryptoError("ciphertext is not whole AES blocks")
        decryptor = self._cipher().decryptor()
        plain = _unpad(decryptor.update(sealed) + decryptor.finalize())
        if len(plain) < 20:
            raise CryptoError("plaintext too short")
        (length,) = _HEADER.unpack_from(plain, 16)
        if 20 + length > len(plain):
            raise CryptoError("length field exceeds the plaintext")
        message, appid = plain[20 : 20 + length], plain[20 + length :]
        if not hmac.compare_digest(appid, self.appid.encode("utf-8")):
            raise WrongAppId("sealed for another appid")
        return message

    def _cipher(self) -> Cipher[modes.CBC]:
        return Cipher(algorithms.AES(self._key), modes.CBC(self._key[:16]))


def _unpad(padded: bytes) -> bytes:
    """Strip PKCS#7 padding of block 32 (1..32 bytes, all equal to the count)."""
    pad = padded[-1]
    if not 1 <= pad <= PAD_BLOCK or pad > len(padded) or padded[-pad:] != bytes([pad]) * pad:
        raise CryptoError("bad padding")
    return padded[:-pad]
