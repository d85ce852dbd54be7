"""The phone page behind a parametric QR's url (/q/{id}): pick a test user, scan, follow or not."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from webapp.wechat_sim.page_text import MP_PHONE
from webapp.wechat_sim.pages import EN, other_lang_url, page_lang, user_choices
from webapp.wechat_sim.web_util import sim_state


@aiohttp_jinja2.template("wechat_sim/mp_phone.html")
async def phone(request: web.Request) -> dict[str, Any]:
    """What WeChat opens when a parametric QR is scanned: the account's chat or its follow page."""
    state, lang = sim_state(request), page_lang(request)
    qr = state.qrcodes.by_id(request.match_info["qr_id"])
    app = state.fixture.app(qr.appid) if qr is not None else None
    return {"qr": qr, "app": app, "users": user_choices(request), "en": lang == EN, "text": MP_PHONE[lang],
            "other_lang_url": other_lang_url(request, lang)}
