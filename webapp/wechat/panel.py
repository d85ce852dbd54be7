"""The WeChat section of the settings page (being written)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from webapp.models import User


async def settings_panel(request: web.Request, user: User) -> dict[str, Any]:
    """Context for templates/wechat/settings_panel.html."""
    return {}
