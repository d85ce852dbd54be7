"""Parametric QR codes of an official account (/cgi-bin/qrcode/create, §10.5)."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from webapp.wechat_sim import errors as e
from webapp.wechat_sim import ids
from webapp.wechat_sim.errors import SnsError
from webapp.wechat_sim.expiry import ExpiringStore

TEMP_DEFAULT_S = 60  # current doc; the old doc and WxJava say 30
TEMP_MAX_S = 2_592_000
CREATES_PER_DAY = 100_000
LIMIT_SCENE_MAX = 100_000
SCENE_ID_MAX = 2**32 - 1
SCENE_STR_MAX = 64
ACTIONS = {"QR_SCENE": (False, False), "QR_STR_SCENE": (False, True),
           "QR_LIMIT_SCENE": (True, False), "QR_LIMIT_STR_SCENE": (True, True)}


@dataclass(frozen=True)
class ParamQr:
    """One parametric QR code: its ticket, scene and (for temporary codes) expiry."""

    id: str
    ticket: str
    appid: str
    action: str
    scene_id: int
    scene_str: str
    created_at: float
    expires_at: float | None

    @property
    def scene(self) -> str:
        """What EventKey carries: the scene_str, else the scene_id in decimal."""
        return self.scene_str if self.action.endswith("STR_SCENE") else str(self.scene_id)

    def as_json(self, base_url: str) -> dict[str, Any]:
        """Return the control API's view of this code."""
        return {"id": self.id, "ticket": self.ticket, "appid": self.appid, "action_name": self.action,
                "scene": self.scene, "url": f"{base_url}/q/{self.id}", "created_at": self.created_at,
                "expires_at": self.expires_at}


def _xml_safe(text: str) -> bool:
    """Return True if every character can appear in an XML 1.0 document (a push carries the scene)."""
    return all(c in "\t\n\r" or 0x20 <= ord(c) <= 0xD7FF or (0xE000 <= ord(c) and c not in "\ufffe\uffff")
               for c in text)


def _scene(action: str, info: Any) -> tuple[int, str]:
    """Return (scene_id, scene_str) from action_info, or raise 40097."""
    permanent, is_str = ACTIONS[action]
    scene = info.get("scene") if isinstance(info, dict) else None
    if not isinstance(scene, dict):
        return 0, ""  # WeChat accepts a missing scene; its events then carry 0
    if is_str:
        value = scene.get("scene_str")
        if not isinstance(value, str) or not 1 <= len(value) <= SCENE_STR_MAX or not _xml_safe(value):
            raise SnsError(e.INVALID_ARGS, "invalid args: scene_str must be 1-64 characters")
        return 0, value
    value = scene.get("scene_id")
    high = LIMIT_SCENE_MAX if permanent else SCENE_ID_MAX
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
        raise SnsError(e.INVALID_ARGS, f"invalid args: scene_id must be 1-{high}")
    return value, ""


def _expire_seconds(body: Mapping[str, Any]) -> int:
    """Return a temporary code's lifetime: default 60 s, at most 30 days."""
    value = body.get("expire_seconds", TEMP_DEFAULT_S)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SnsError(e.DATA_FORMAT_ERROR)
    return TEMP_DEFAULT_S if value <= 0 else min(int(value), TEMP_MAX_S)


class QrCodeBook:
    """Temporary codes disappear at expiry (then 404 and no event); permanent codes stay."""

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self._temp: ExpiringStore[str, ParamQr] = ExpiringStore(now)
        self._temp_ids: ExpiringStore[str, str] = ExpiringStore(now)
        self._permanent: dict[str, ParamQr] = {}
        self._permanent_ids: dict[str, str] = {}

    def create(self, appid: str, body: Mapping[str, Any]) -> ParamQr:
        """Create a new code (every call a new ticket) from qrcode/create's JSON body."""
        action = body.get("action_name")
        if action not in ACTIONS:
            raise SnsError(e.INVALID_ARGS, "invalid args: action_name")
        scene_id, scene_str = _scene(action, body.get("action_info"))
        permanent, now = ACTIONS[action][0], self.now()
        expire_s = 0 if permanent else _expire_seconds(body)
        qr_id = ids.new_qr_id()
        qr = ParamQr(qr_id, ids.new_ticket(qr_id, now, expire_s), appid, action, scene_id, scene_str, now,
                     None if permanent else now + expire_s)
        if qr.expires_at is None:
            self._permanent[qr.ticket], self._permanent_ids[qr.id] = qr, qr.ticket
        else:
            self._temp.put(qr.ticket, qr, qr.expires_at)
            self._temp_ids.put(qr.id, qr.ticket, qr.expires_at)
        return qr

    def by_ticket(self, ticket: str) -> ParamQr | None:
        """Return the live code with this ticket, or None (unknown or expired)."""
        return self._permanent.get(ticket) or self._temp.get(ticket)

    def by_id(self, qr_id: str) -> ParamQr | None:
        """Return the live code whose url ends in /q/{qr_id}, or None."""
        ticket = self._permanent_ids.get(qr_id) or self._temp_ids.get(qr_id)
        return None if ticket is None else self.by_ticket(ticket)

    def live(self) -> list[ParamQr]:
        """Return every live code, oldest first."""
        return sorted([*self._permanent.values(), *self._temp.values()], key=lambda q: q.created_at)
