"""Outbound WeChat OAuth: the /sns/* client, its typed errors and values, and authorize URLs."""

from webapp.wechat.client import WeChatClient
from webapp.wechat.errors import WeChatAPIError, WeChatError, WeChatUnavailable
from webapp.wechat.schemas import OAuthToken, WeChatApp, WeChatProfile

__all__ = [
    "OAuthToken",
    "WeChatAPIError",
    "WeChatApp",
    "WeChatClient",
    "WeChatError",
    "WeChatProfile",
    "WeChatUnavailable",
]
