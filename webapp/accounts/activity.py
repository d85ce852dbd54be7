"""The security activity as the settings page reads it: what happened, how, on which device, when (local time)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from webapp import events
from webapp.i18n import gettext as _


def how(method: str, actor: str) -> str:
    """How it happened, as a short phrase in the reader's language ("" when there is nothing to say)."""
    if actor == "admin":
        return _("by an administrator")
    if actor == "wechat":
        return _("by WeChat")
    phrases = {
        "password": _("with your password"),
        "wechat_qr": _("by scanning WeChat's QR code"),
        "wechat_embedded": _("by scanning the QR code on this site"),
        "wechat_mp": _("inside WeChat"),
        "wechat_follow": _("by following the official account"),
    }
    return phrases.get(method, "")


def row(event: Any, when: Callable[[datetime | None], str]) -> dict[str, str]:
    """One security event for templates/accounts/settings.html."""
    device = "" if event.actor in ("admin", "wechat") else events.client_label(event.client)
    return {
        "kind": event.kind,
        "what": events.kind_label(event.kind),
        "how": _profile_note(event.method) if event.kind == "wechat_profile_changed" else how(event.method, event.actor),
        "device": device,
        "when": when(event.created_at),
        "iso": event.created_at.isoformat(),
    }


def _profile_note(method: str) -> str:
    """What a WeChat profile change did: nothing for an account that only follows the official account."""
    if method == "wechat_follow":
        return _("official accounts no longer receive nicknames or pictures, so nothing here changed")
    return ""
