"""Coarse, non-identifying descriptions of a client: "Chrome on Windows", its IP, phone or WeChat."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from aiohttp import web

from webapp.cookies import read as read_cookie
from webapp.forwarded import Network, client_address, is_trusted, peer_address

if TYPE_CHECKING:
    from webapp.settings import Settings

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


# A few hundred distinct user agents make up nearly all requests; a login asks for these several times.
@functools.lru_cache(maxsize=512)
def coarse_client(user_agent: str) -> str:
    """Browser and operating system family only, never the full user agent."""
    browser = next((name for marker, name in _BROWSERS if marker in user_agent), "")
    system = next((name for marker, name in _SYSTEMS if marker in user_agent), "")
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or "Unknown client"


def client_ip(request: web.BaseRequest) -> str:
    """The client's address, the one every throttle, log, session and allow list uses (webapp.forwarded)."""
    trusted = _trusted(request)
    forwarded = request.headers.getall("X-Forwarded-For", ()) if trusted else ()  # read only behind a proxy
    return client_address(request.remote or "", forwarded, trusted)[:64]


def peer_is_trusted(request: web.BaseRequest) -> bool:
    """The direct peer is one of TRUSTED_PROXIES: only then are its forwarding headers believed."""
    return is_trusted(peer_address(request.remote or "")[0], _trusted(request))


def _trusted(request: web.BaseRequest) -> tuple[Network, ...]:
    # A BaseRequest (one the server refused before routing) has no app: its peer is all that is known.
    if not isinstance(request, web.Request):
        return ()
    try:
        return request.app[_settings_key()].trusted_networks
    except KeyError:  # an application without the site's settings (a test's)
        return ()


@functools.cache
def _settings_key() -> web.AppKey[Settings]:
    # Imported on first use, not with this module: the simulator's logging imports it, never webapp.keys.
    from webapp.keys import settings_key

    return settings_key


def is_wechat_browser(user_agent: str) -> bool:
    """WeChat's in-app browser (and desktop WeChat, WeCom) say MicroMessenger."""
    return "micromessenger" in user_agent.lower()


# Phones and tablets: a QR code on their screen cannot be scanned by their own camera.
_HANDHELD = ("iPhone", "iPad", "iPod", "Android", "Mobile", "Mobi", "HarmonyOS", "OpenHarmony", "Windows Phone")
# `webapp dev` only: this browser counts as WeChat's (see webapp.pages.dev_wechat_browser).
DEV_WECHAT_COOKIE = "dev_wechat"


@functools.lru_cache(maxsize=512)
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

    return request.app[settings_key].dev and read_cookie(request, DEV_WECHAT_COOKIE) == "1"


def is_phone_without_wechat(request: web.Request) -> bool:
    """A phone or tablet browser that is not WeChat's: a QR code is useless there."""
    return not counts_as_wechat(request) and is_handheld(request.headers.get("User-Agent", ""))
