"""Fetch a WeChat avatar: only from WeChat's image hosts (or WECHAT_API_BASE's), bounded in size and time, typed by its bytes.

AvatarError
├── AvatarRefused       permanent: a host we do not fetch from, not an image, too large, gone (4xx)
└── AvatarUnavailable   transient: timeout, connection failure, 5xx or 429 (retried with backoff)
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

import aiohttp
from yarl import URL

from webapp.observability import metrics

MAX_BYTES = 1024 * 1024
MAX_REDIRECTS = 3
WECHAT_IMAGE_DOMAIN = "qlogo.cn"  # thirdwx.qlogo.cn, wx.qlogo.cn, …
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
TIMEOUT = aiohttp.ClientTimeout(total=10, sock_connect=3)
# WeChat's headimgurl ends in the size: 0 (640×640), 46, 64, 96 or 132. 132 is plenty for a page.
_SIZES = frozenset({"0", "46", "64", "96", "132"})


class AvatarError(Exception):
    """The avatar could not be copied."""


class AvatarRefused(AvatarError):
    """Never worth retrying this URL: the next profile change brings a new one."""


class AvatarUnavailable(AvatarError):
    """Worth retrying later."""


@dataclass(frozen=True)
class Fetched:
    """A copied image, typed by its magic bytes."""

    content: bytes
    content_type: str
    sha256: str


def sniff(data: bytes) -> str | None:
    """The image type the bytes themselves declare (jpeg, png, gif, webp), or None."""
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


class AvatarFetcher:
    """Copies avatars over the shared ClientSession; knows which hosts it may ask."""

    def __init__(self, http: aiohttp.ClientSession, *, api_base: str, max_bytes: int = MAX_BYTES,
                 timeout: aiohttp.ClientTimeout = TIMEOUT) -> None:
        self._http, self._max_bytes, self._timeout = http, max_bytes, timeout
        api = URL(api_base)
        self._api_origin = (api.host.lower(), api.port) if api.host else None

    def allowed(self, url: URL) -> bool:
        """WeChat's image hosts, or WECHAT_API_BASE's host and port (the simulator in dev and tests)."""
        try:  # the host is decoded lazily: a broken punycode label raises here
            if url.scheme not in ("http", "https") or not url.host or url.user or url.password:
                return False
            host = url.host.lower().rstrip(".")
            port = url.port
        except (ValueError, UnicodeError):
            return False
        if host == WECHAT_IMAGE_DOMAIN or host.endswith("." + WECHAT_IMAGE_DOMAIN):
            return True
        return (host, port) == self._api_origin

    async def fetch(self, source: str) -> Fetched:
        """The image at `source`; redirects are followed only while they stay on allowed hosts."""
        started = time.monotonic()
        try:
            try:
                url = sized(source)
            except (ValueError, UnicodeError) as exc:
                raise AvatarRefused("not a URL") from exc
            fetched = await self._fetch(url)
        except AvatarError:
            metrics.wechat_call("avatar", "transport", time.monotonic() - started)
            raise
        metrics.wechat_call("avatar", 0, time.monotonic() - started)
        return fetched

    async def _fetch(self, url: URL) -> Fetched:
        for _hop in range(MAX_REDIRECTS + 1):
            if not self.allowed(url):
                raise AvatarRefused("not one of WeChat's image hosts")
            try:
                async with self._http.get(url, allow_redirects=False, timeout=self._timeout) as resp:
                    if resp.status in (301, 302, 303, 307, 308):
                        url = url.join(URL(resp.headers.get("Location", "")))
                        continue
                    _check_status(resp.status)
                    declared = resp.content_type.lower()
                    if declared not in IMAGE_TYPES:
                        raise AvatarRefused(f"declared type {declared[:40]!r} is not an image we keep")
                    content = await self._read(resp)
            except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
                raise AvatarUnavailable(type(exc).__name__) from exc
            kind = sniff(content)
            if kind is None:
                raise AvatarRefused("the bytes are not a jpeg, png, gif or webp image")
            return Fetched(content, kind, hashlib.sha256(content).hexdigest())
        raise AvatarRefused("too many redirects")

    async def _read(self, resp: aiohttp.ClientResponse) -> bytes:
        """The body, stopping as soon as it passes the size limit (Content-Length is not trusted)."""
        if (resp.content_length or 0) > self._max_bytes:
            raise AvatarRefused("too large")
        chunks, total = [], 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            total += len(chunk)
            if total > self._max_bytes:
                raise AvatarRefused("too large")
            chunks.append(chunk)
        return b"".join(chunks)


def sized(source: str) -> URL:
    """`source` asking for the 132 px picture instead of the 640 px one (WeChat's trailing size segment)."""
    url = URL(source)
    if url.path.endswith("/0") and url.parts[-1] in _SIZES:
        return url.with_path(url.path[:-1] + "132", encoded=False).with_query(url.query)
    return url


def _check_status(status: int) -> None:
    if status == 200:
        return
    if status == 429 or status >= 500:
        raise AvatarUnavailable(f"HTTP {status}")
    raise AvatarRefused(f"HTTP {status}")
