"""Times as the reader expects them: in their browser's time zone (a cookie), else the language's, in its words.

static/js/site.js stores `Intl.DateTimeFormat().resolvedOptions().timeZone` in the `tz` cookie; it is
only believed when zoneinfo knows the name.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, tzinfo
from urllib.parse import unquote

from aiohttp import web
from babel.dates import format_skeleton, get_timezone_location

from webapp import i18n
from webapp.cookies import read as read_cookie

TZ_COOKIE = "tz"
DEFAULT_ZONES = {"zh_CN": "Asia/Shanghai", "en": "UTC"}
_NAME = re.compile(r"[A-Za-z0-9_+\-/]{1,64}")


@functools.cache
def known_zones() -> frozenset[str]:
    """Every IANA name zoneinfo can load here."""
    return frozenset(zoneinfo.available_timezones())


def zone_named(name: str | None) -> tzinfo | None:
    """The zone called `name`, if it is a real IANA name."""
    if not name or not _NAME.fullmatch(name) or name not in known_zones():
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def reader_zone(request: web.Request) -> tzinfo:
    """The browser's zone (cookie), else the language's default, else UTC."""
    cookie = read_cookie(request, TZ_COOKIE)
    chosen = zone_named(unquote(cookie)[:64]) if cookie else None
    if chosen is None:
        chosen = zone_named(DEFAULT_ZONES.get(locale_of(request), "UTC"))
    return chosen or UTC


def locale_of(request: web.Request) -> str:
    """The request's language (webapp.i18n.locale_of)."""
    return i18n.locale_of(request)


def formatter(request: web.Request) -> Callable[[datetime | None], str]:
    """A function formatting aware datetimes for this reader: date and 24-hour time in their zone."""
    zone, locale = reader_zone(request), locale_of(request)

    def when(value: datetime | None) -> str:
        if value is None:
            return ""
        return f"{format_skeleton('yMMMd', value, tzinfo=zone, locale=locale)} " \
               f"{format_skeleton('Hm', value, tzinfo=zone, locale=locale)}"

    return when


def zone_label(request: web.Request) -> str:
    """The reader's zone as a place name in their language ("Shanghai", "上海")."""
    zone = reader_zone(request)
    if zone is UTC or str(zone) == "UTC":
        return "UTC"
    return get_timezone_location(zone, locale=locale_of(request), return_city=True)
