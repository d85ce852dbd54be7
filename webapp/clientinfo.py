"""Coarse, non-identifying descriptions of a client: "Chrome on Windows", and its IP."""

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


def client_ip(request: web.Request) -> str:
    """The peer address aiohttp saw (put a proxy's forwarded-header handling in front if needed)."""
    return (request.remote or "")[:64]


def is_wechat_browser(user_agent: str) -> bool:
    """WeChat's in-app browser (and desktop WeChat, WeCom) say MicroMessenger."""
    return "micromessenger" in user_agent.lower()
