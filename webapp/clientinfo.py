"""Coarse, non-identifying descriptions of a client: "Chrome on Windows", its IP, phone or WeChat."""

from __future__ import annotations

from aiohttp import web

_BROWSERS = (
    ("MicroMessenger", "WeChat"),
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
    ("curl/", "curl"),
)
_SYSTEMS = (
    ("iPhone", "iPhone"),
    ("iPad", "iPad"),
    ("Android", "Android"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("Macintosh", "macOS"),
    ("Linux", "Linux"),
)


def coarse_client(user_agent: str) -> str:
    """Browser and operating system family only, never the full user agent."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "")
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown client"


def client_ip(request: web.BaseRequest) -> str:
    """The client's address: the peer, or behind TRUSTED_PROXIES the nearest untrusted X-Forwarded-For hop."""
    from webapp.keys import settings_key

    peer = request.remote or ""
    trusted = request.app[settings_key].trusted_proxies if settings_key in request.app else frozenset()
    if peer in trusted:
        hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
        for hop in reversed(hops):  # the right-most entries were added by our own proxies
            if hop not in trusted:
                return hop[:64]
    return peer[:64]


def is_wechat_browser(user_agent: str) -> bool:
    """WeChat's in-app browser (and desktop WeChat, WeCom) say MicroMessenger."""
    return "micromessenger" in user_agent.lower()


# Phones and tablets: a QR code on their screen cannot be scanned by their own camera.
_HANDHELD = ("iPhone", "iPad", "iPod", "Android", "Mobile", "Mobi", "HarmonyOS", "OpenHarmony", "Windows Phone")
# `webapp dev` only: this browser counts as WeChat's (see webapp.pages.dev_wechat_browser).
DEV_WECHAT_COOKIE = "dev_wechat"


def is_handheld(user_agent: str) -> bool:
    """A phone or tablet browser (by its user agent)."""
    return any(marker in user_agent for marker in _HANDHELD)


def counts_as_wechat(request: web.Request) -> bool:
    """WeChat's browser, or (in `webapp dev` only) a browser switched to count as one."""
    if is_wechat_browser(request.headers.get("User-Agent", "")):
        return True
    return dev_wechat(request)


def dev_wechat(request: web.Request) -> bool:
    """This browser was switched to count as WeChat's, and the site runs as `webapp dev`."""
    from webapp.keys import settings_key

    return request.app[settings_key].dev and request.cookies.get(DEV_WECHAT_COOKIE) == "1"


def is_phone_without_wechat(request: web.Request) -> bool:
    """A phone or tablet browser that is not WeChat's: a QR code is useless there."""
    return not counts_as_wechat(request) and is_handheld(request.headers.get("User-Agent", ""))
