"""Small generated PNG avatars (a 5×5 symmetric identicon per user)."""

from __future__ import annotations

import hashlib
import struct
import zlib

AVATAR_SIZES = {"0": 640, "46": 46, "64": 64, "96": 96, "132": 132}
_GREY = (200, 200, 200)


def _chunk(kind: bytes, data: bytes) -> bytes:
    """Return one PNG chunk."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _pattern(user_id: int) -> tuple[tuple[int, int, int], list[list[bool]]]:
    """Return the colour and the 5×5 mirrored cell grid of a user (user 0: plain grey)."""
    if user_id == 0:
        return _GREY, [[False] * 5 for _ in range(5)]
    digest = hashlib.sha256(f"avatar:{user_id}".encode()).digest()
    colour = (digest[0] // 2 + 64, digest[1] // 2 + 64, digest[2] // 2 + 64)
    rows = [[bool(digest[3 + r * 3 + min(c, 4 - c)] & 1) for c in range(5)] for r in range(5)]
    return colour, rows


def avatar_png(user_id: int, size: int) -> bytes:
    """Return a size×size PNG for the user."""
    colour, cells = _pattern(user_id)
    background = bytes((240, 240, 240))
    lines = []
    for y in range(size):
        row = cells[min(y * 5 // size, 4)]
        pixels = b"".join(bytes(colour) if row[min(x * 5 // size, 4)] else background for x in range(size))
        lines.append(b"\x00" + pixels)
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(b"".join(lines))) + _chunk(b"IEND", b""))


def avatar_url(base_url: str, user_id: int) -> str:
    """Return the 132 px avatar URL of a user (0 = the grey default)."""
    return f"{base_url}/mmopen/{user_id}/132"
