"""Per-user state beyond the fixture: who follows which account, and edited profiles."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from webapp.wechat_sim.avatar import avatar_url
from webapp.wechat_sim.fixture import Fixture, SimUser

SCENE_SEARCH = "ADD_SCENE_SEARCH"
SCENE_QR_CODE = "ADD_SCENE_QR_CODE"
SCENE_OTHERS = "ADD_SCENE_OTHERS"


@dataclass(frozen=True)
class Follow:
    """One follow of an account; qr_scene(_str) is the QR used at follow time, never updated later."""

    appid: str
    user_id: int
    subscribe_time: int
    scene: str
    qr_scene: int = 0
    qr_scene_str: str = ""

    def as_json(self) -> dict[str, Any]:
        """Return the control API's view of this follow."""
        return {"appid": self.appid, "user": self.user_id, "subscribe_time": self.subscribe_time,
                "subscribe_scene": self.scene, "qr_scene": self.qr_scene, "qr_scene_str": self.qr_scene_str}


class FollowerBook:
    """Follower state per (account, test user); everyone starts not following unless the fixture says so."""

    def __init__(self, fixture: Fixture, now: Callable[[], float]) -> None:
        self._now = now
        self._follows: dict[tuple[str, int], Follow] = {}
        for user in fixture.users:
            for appid in user.follows:
                if fixture.app(appid) is not None:
                    self.follow(appid, user.id, SCENE_OTHERS)

    def get(self, appid: str, user_id: int) -> Follow | None:
        """Return the user's follow of this account, or None."""
        return self._follows.get((appid, user_id))

    def follow(self, appid: str, user_id: int, scene: str, qr_scene: int = 0, qr_scene_str: str = "") -> Follow:
        """Record a new follow now."""
        follow = Follow(appid, user_id, int(self._now()), scene, qr_scene, qr_scene_str)
        self._follows[(appid, user_id)] = follow
        return follow

    def unfollow(self, appid: str, user_id: int) -> bool:
        """Forget a follow; return False if there was none."""
        return self._follows.pop((appid, user_id), None) is not None

    def __iter__(self) -> Iterator[Follow]:
        return iter(list(self._follows.values()))


class ProfileBook:
    """Nickname and avatar URL overrides per test user (any string, however hostile)."""

    def __init__(self) -> None:
        self._nicknames: dict[int, str] = {}
        self._avatars: dict[int, str] = {}

    def set(self, user_id: int, *, nickname: str | None = None, headimgurl: str | None = None) -> None:
        """Override what the user's WeChat profile shows; None leaves a field as it is."""
        if nickname is not None:
            self._nicknames[user_id] = nickname
        if headimgurl is not None:
            self._avatars[user_id] = headimgurl

    def nickname(self, user: SimUser) -> str:
        """Return the nickname WeChat shows now."""
        return self._nicknames.get(user.id, user.nickname)

    def headimgurl(self, user: SimUser, base_url: str) -> str:
        """Return the avatar URL WeChat gives now (empty when the user has none)."""
        if user.id in self._avatars:
            return self._avatars[user.id]
        return avatar_url(base_url, user.id) if user.has_avatar else ""
