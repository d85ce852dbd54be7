"""The peer's configuration, read once from the environment (the runner sets every variable)."""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    """The database, the cookie-signing secret and the WeChat website app (on the simulator)."""

    database_url: str
    secret_key: str
    wechat_appid: str
    wechat_secret: str
    wechat_open_base: str  # stands for https://open.weixin.qq.com
    wechat_api_base: str  # stands for https://api.weixin.qq.com

    @classmethod
    def from_env(cls) -> Settings:
        """Read PEER_* variables; a plain postgresql:// URL gets SQLAlchemy's asyncpg driver."""
        env = os.environ
        url = env["PEER_DATABASE_URL"]
        if url.startswith("postgresql://"):
            url = "postgresql+asyncpg://" + url.removeprefix("postgresql://")
        return cls(database_url=url, secret_key=env["PEER_SECRET_KEY"], wechat_appid=env["PEER_WECHAT_APPID"],
                   wechat_secret=env["PEER_WECHAT_SECRET"], wechat_open_base=env["PEER_WECHAT_OPEN_BASE"].rstrip("/"),
                   wechat_api_base=env["PEER_WECHAT_API_BASE"].rstrip("/"))
