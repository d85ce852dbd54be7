"""The phone page behind a parametric QR's url (/q/{id}): pick a test user, scan, follow or not."""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from webapp.wechat_sim.pages import EN, page_lang
from webapp.wechat_sim.web_util import base_url, sim_state

TEXT = {
    "zh_CN": {"title": "微信", "pick": "模拟微信：你是哪个微信用户？", "pick_hint": "选择一个测试用户，然后“扫一扫”。",
              "scan": "扫一扫", "follow": "关注公众号", "decline": "暂不关注", "expired": "该二维码已过期",
              "expired_hint": "请让对方刷新二维码后重新扫描。", "follow_hint": "关注后即可接收该公众号的消息",
              "chat": "已进入公众号会话", "followed": "已关注", "declined": "你没有关注该公众号，不会发送任何事件。",
              "delivered": "事件已推送给公众号服务器", "not_configured": "公众号没有配置服务器地址，事件未推送",
              "dropped": "（模拟故障）事件未推送", "pending": "推送中…", "again": "重新扫描", "lang": "English"},
    "en": {"title": "WeChat", "pick": "Simulated WeChat: which WeChat user are you?",
           "pick_hint": "Pick a test user, then tap Scan.", "scan": "Scan", "follow": "Follow",
           "decline": "Don't follow", "expired": "This QR code has expired",
           "expired_hint": "Ask for a fresh QR code and scan again.",
           "follow_hint": "Follow to receive this account's messages", "chat": "The account's chat is open",
           "followed": "Followed", "declined": "You did not follow the account; no event is sent.",
           "delivered": "The event reached the account's server",
           "not_configured": "The account has no server URL: the event was not pushed",
           "dropped": "(simulated fault) the event was not pushed", "pending": "Pushing…", "again": "Scan again",
           "lang": "中文"},
}


@aiohttp_jinja2.template("wechat_sim/mp_phone.html")
async def phone(request: web.Request) -> dict[str, Any]:
    """What WeChat opens when a parametric QR is scanned: the account's chat or its follow page."""
    state, lang = sim_state(request), page_lang(request)
    qr = state.qrcodes.by_id(request.match_info["qr_id"])
    app = state.fixture.app(qr.appid) if qr is not None else None
    users = [{"id": u.id, "nickname": state.profiles.nickname(u), "avatar": state.profiles.headimgurl(u, base_url(request))}
             for u in state.fixture.users]
    other = "zh_CN" if lang == EN else "en"
    return {"qr": qr, "app": app, "users": users, "en": lang == EN, "lang": lang, "text": TEXT[lang],
            "other_lang_url": str(request.rel_url.update_query(lang=other))}
