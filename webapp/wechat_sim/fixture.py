"""Fixture data: the open platform, its apps and the test users (default here, or from JSON)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from webapp.wechat_sim import ids
from webapp.wechat_sim.push_config import PushConfig, push_from_fixture

AppKind = Literal["website", "official_account", "mini_program"]
Phone = tuple[str, str]  # (country code, number without it)

OPEN_PLATFORM_ID = "wechat-sim-open-platform"
WEBSITE_APPID = "wx5f3a9c1e7b2d4068"
WEBSITE_SECRET = "9b1e4c7a2f5d8e0b3a6c9f1d4e7b0a23"
MP_APPID = "wx8e2b7d4a1c9f3065"
MP_SECRET = "4d7a0c3f6b9e2d5a8c1f4b7e0d3a6c59"
UNBOUND_APPID = "wx1c6e9b3f5a8d2470"
UNBOUND_SECRET = "e2a5d8b1c4f7a0e3d6b9c2f5a8e1d4b7"
MINI_APPID = "wx3d8a6f1c9e2b5047"
MINI_SECRET = "7c2e9a4f1b6d3e8a5c0f7b2d9e4a1c63"
UNBOUND_MINI_APPID = "wx6b1f4d9a2e7c3058"
UNBOUND_MINI_SECRET = "1f8c3a6e9b2d5f0a7c4e1b8d3a6f9c25"
DEFAULT_CALLBACK_HOSTS = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class SimApp:
    """A WeChat app: a website app (QR login) or an official account (in-WeChat web auth)."""

    appid: str
    secret: str
    kind: AppKind
    name: str
    bound: bool = True
    callback_hosts: tuple[str, ...] = DEFAULT_CALLBACK_HOSTS
    push: PushConfig | None = None

    @property
    def original_id(self) -> str:
        """The account's `gh_…` id: ToUserName of every push it receives."""
        return ids.original_id_for(self.appid)

    def as_json(self) -> dict[str, Any]:
        """Return the control API's view of this app."""
        return {"appid": self.appid, "secret": self.secret, "kind": self.kind, "name": self.name,
                "bound_to_open_platform": self.bound, "callback_hosts": list(self.callback_hosts),
                "original_id": self.original_id, "push_account": ids.push_account_for(self.appid)}


@dataclass(frozen=True)
class SimUser:
    """A test WeChat user; `phone` is the number bound to their WeChat (None: they have none)."""

    id: int
    nickname: str
    has_avatar: bool = True
    follows: tuple[str, ...] = ()
    phone: Phone | None = None
    risky: bool = False  # WeChat's risk control blocks their mini program logins (40226)


@dataclass(frozen=True)
class Fixture:
    """Everything the simulator starts from."""

    apps: tuple[SimApp, ...]
    users: tuple[SimUser, ...]
    open_platform: str = OPEN_PLATFORM_ID
    new_grant_revokes_previous: bool = False
    _apps_by_id: dict[str, SimApp] = field(init=False, repr=False, compare=False)
    _users_by_id: dict[int, SimUser] = field(init=False, repr=False, compare=False)
    _users_by_openid: dict[tuple[str, str], int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_apps_by_id", {a.appid: a for a in self.apps})
        object.__setattr__(self, "_users_by_id", {u.id: u for u in self.users})
        object.__setattr__(self, "_users_by_openid", {
            (a.appid, self.openid(a, u.id)): u.id for a in self.apps for u in self.users})

    def app(self, appid: str) -> SimApp | None:
        """Return the app with this appid, or None."""
        return self._apps_by_id.get(appid)

    def user(self, user_id: int) -> SimUser | None:
        """Return the test user with this id, or None."""
        return self._users_by_id.get(user_id)

    def user_by_openid(self, appid: str, openid: str) -> SimUser | None:
        """Return the test user behind an openid of `appid`, or None."""
        user_id = self._users_by_openid.get((appid, openid))
        return None if user_id is None else self._users_by_id[user_id]

    def mini_programs(self) -> tuple[SimApp, ...]:
        """The mini programs, the bound one first."""
        return tuple(sorted((a for a in self.apps if a.kind == "mini_program"), key=lambda a: not a.bound))

    def official_account(self) -> SimApp | None:
        """Return the first official account (the default target of the mp control API)."""
        return next((a for a in self.apps if a.kind == "official_account"), None)

    def openid(self, app: SimApp, user_id: int) -> str:
        """Return the user's openid under `app`."""
        return ids.openid_for(app.appid, user_id)

    def unionid(self, user_id: int) -> str:
        """Return the user's unionid under this fixture's open platform."""
        return ids.unionid_for(self.open_platform, user_id)


def default_fixture() -> Fixture:
    """Return the built-in fixture: website app, official account and mini program bound, two unbound apps, five users.

    Phone numbers: mainland for users 1, 2 and 4 (2 and 4 share one), Hong Kong for user 3, none for user 5.
    """
    apps = (
        SimApp(WEBSITE_APPID, WEBSITE_SECRET, "website", "模拟网站应用"),
        SimApp(MP_APPID, MP_SECRET, "official_account", "模拟服务号"),
        SimApp(UNBOUND_APPID, UNBOUND_SECRET, "website", "未绑定开放平台的网站应用", bound=False),
        SimApp(MINI_APPID, MINI_SECRET, "mini_program", "模拟小程序"),
        SimApp(UNBOUND_MINI_APPID, UNBOUND_MINI_SECRET, "mini_program", "未绑定开放平台的小程序", bound=False),
    )
    users = (
        SimUser(1, "张伟", phone=("86", "13800138001")), SimUser(2, "李娜🌸", phone=("86", "13900139002")),
        SimUser(3, "Wang 小明", phone=("852", "61234567")),
        SimUser(4, "🐼熊猫", phone=("86", "13900139002")), SimUser(5, "Ömer·阿里"),
    )
    return Fixture(apps=apps, users=users)


def fixture_from_json(data: dict[str, Any]) -> Fixture:
    """Build a fixture from its JSON form (same keys as the dataclasses)."""
    apps = tuple(
        SimApp(a["appid"], a["secret"], a["kind"], a.get("name", a["appid"]), a.get("bound", True),
               tuple(a.get("callback_hosts", DEFAULT_CALLBACK_HOSTS)), push_from_fixture(a))
        for a in data["apps"]
    )
    users = tuple(SimUser(int(u["id"]), u["nickname"], u.get("has_avatar", True), tuple(u.get("follows", ())),
                          _phone(u), bool(u.get("risky", False)))
                  for u in data["users"])
    return Fixture(apps=apps, users=users, open_platform=data.get("open_platform", OPEN_PLATFORM_ID),
                   new_grant_revokes_previous=bool(data.get("new_grant_revokes_previous", False)))


def _phone(user: dict[str, Any]) -> Phone | None:
    """A user's phone from JSON: {"country_code": "86", "number": "138…"}, null for none; mainland by default."""
    if "phone" not in user:
        return ("86", f"138{int(user['id']) % 10**8:08d}")
    phone = user["phone"]
    return None if phone is None else (str(phone["country_code"]), str(phone["number"]))


def load_fixture(path: Path) -> Fixture:
    """Read a fixture JSON file."""
    return fixture_from_json(json.loads(path.read_text(encoding="utf-8")))
