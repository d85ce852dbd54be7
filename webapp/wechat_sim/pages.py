"""Helpers for the simulator's HTML pages: their language, and text that can always be encoded."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from markupsafe import Markup

from webapp.wechat_sim.web_util import base_url, sim_state

LANG_COOKIE = "wechat_sim_lang"
EN, ZH = "en", "zh_CN"


def is_en(value: str | None) -> bool:
    """WeChat's pages are Chinese unless asked for English (`lang=en`, also en_US…)."""
    return (value or "").lower().startswith("en")


def page_lang(request: web.Request, explicit: str | None = None) -> str:
    """Return the page language: an explicit value, else `lang` in the query, else the phone's cookie, else zh_CN."""
    for value in (explicit, request.query.get("lang"), request.cookies.get(LANG_COOKIE)):
        if value:
            return EN if is_en(value) else ZH
    return ZH


def display_safe(value: Any) -> Any:
    """Jinja finalize: replace lone surrogates (which cannot be UTF-8 encoded) by U+FFFD, keeping Markup."""
    if not isinstance(value, str) or value.isascii():
        return value
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        cleaned = value.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
        return Markup(cleaned) if isinstance(value, Markup) else cleaned


def user_choices(request: web.Request) -> list[dict[str, Any]]:
    """The test users as a phone page lists them: id, nickname and avatar as edited now."""
    state, base = sim_state(request), base_url(request)
    return [{"id": u.id, "nickname": state.profiles.nickname(u), "avatar": state.profiles.headimgurl(u, base)}
            for u in state.fixture.users]


def other_lang_url(request: web.Request, lang: str) -> str:
    """This page in the other language."""
    return str(request.rel_url.update_query(lang=ZH if lang == EN else EN))
