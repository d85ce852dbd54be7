"""social-core's `weixin` backend pointed at the simulator: only its URLs change."""

from django.conf import settings
from social_core.backends.weixin import WeixinOAuth2

WECHAT_OPEN = "https://open.weixin.qq.com"
WECHAT_API = "https://api.weixin.qq.com"


def _moved(url: str) -> str:
    """`url` with WeChat's hosts replaced by the simulator's base URLs."""
    if url.startswith(WECHAT_OPEN):
        return settings.PEER_WECHAT_OPEN_BASE + url[len(WECHAT_OPEN):]
    if url.startswith(WECHAT_API):
        return settings.PEER_WECHAT_API_BASE + url[len(WECHAT_API):]
    return url


class SimulatorWeixinOAuth2(WeixinOAuth2):
    """WeixinOAuth2 as is (name "weixin"), talking to the simulator instead of open/api.weixin.qq.com."""

    def authorization_url(self) -> str:
        """The QR page (qrconnect) on the simulator."""
        return _moved(super().authorization_url())

    def request(self, url, *args, **kwargs):
        """Every server-side call (code exchange, /sns/userinfo, hard-coded upstream) to the simulator."""
        return super().request(_moved(url), *args, **kwargs)
