"""What the simulator's WeChat pages say, in WeChat's Chinese wording and in English (lang=en)."""

from __future__ import annotations

from webapp.wechat_sim.page_checks import LINK_INVALID, REDIRECT_ERROR, SCOPE_ERROR, STATE_ERROR

CONFIRM = {
    "zh_CN": {"title": "微信登录确认", "expired": "二维码已失效", "expired_hint": "请在电脑上刷新二维码后重新扫描。",
              "pick": "模拟微信：你是哪个微信用户？", "pick_hint": "选择一个测试用户，然后“扫一扫”。", "scan": "扫一扫",
              "asks": "申请使用", "what": "你的微信头像、昵称进行登录", "allow": "允许", "deny": "拒绝",
              "rescan": "重新扫描", "allowed": "已允许，电脑端将自动登录", "cancelled": "已取消此次登录",
              "failed": "失败", "lang": "English"},
    "en": {"title": "Confirm WeChat login", "expired": "The QR code has expired",
           "expired_hint": "Refresh the QR code on the computer and scan again.",
           "pick": "Simulated WeChat: which WeChat user are you?", "pick_hint": "Pick a test user, then tap Scan.",
           "scan": "Scan", "asks": "requests", "what": "your WeChat profile photo and nickname to log in",
           "allow": "Allow", "deny": "Deny", "rescan": "Scan again",
           "allowed": "Allowed: the computer logs in now", "cancelled": "Login cancelled", "failed": "Failed",
           "lang": "中文"},
}

CONSENT = {
    "zh_CN": {"asks": "申请", "what": "获取你的昵称、头像", "profile": "微信个人信息", "allow": "允许", "deny": "拒绝"},
    "en": {"asks": "requests", "what": "your nickname and profile photo", "profile": "WeChat profile",
           "allow": "Allow", "deny": "Deny"},
}

PICKER = {
    "zh_CN": {"title": "选择微信用户", "pick": "模拟器：这个浏览器是哪个测试用户的微信？",
              "hint": "公众号网页授权只在微信内打开。选择一个测试用户后继续授权。", "snapshot": "快照页模式："},
    "en": {"title": "Choose a WeChat user", "pick": "Simulator: whose WeChat is this browser?",
           "hint": "Official-account authorization only opens inside WeChat. Pick a test user to continue.",
           "snapshot": "Snapshot page mode:"},
}

SNAPSHOT = {
    "zh_CN": {"title": "快照页", "notice": "当前为快照页，仅提供部分能力（模拟器）。头像、昵称、openid 与 unionid 均为虚拟信息。",
              "browse": "以快照模式浏览页面", "full": "使用完整服务"},
    "en": {"title": "Snapshot page",
           "notice": "This is a snapshot page with limited features (simulator). Avatar, nickname, openid and "
                     "unionid are virtual.",
           "browse": "Browse in snapshot mode", "full": "Use full service"},
}

ERROR_MESSAGES_EN: dict[str, str] = {
    LINK_INVALID: "This link cannot be accessed", SCOPE_ERROR: "Scope parameter error or no Scope permission",
    REDIRECT_ERROR: "redirect_uri parameter error", STATE_ERROR: "The state parameter is too long",
}
ERROR: dict[str, dict[str, str]] = {
    "zh_CN": {"code": "错误码："},
    "en": {"code": "Error code: "},
}
MP_PHONE = {
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
