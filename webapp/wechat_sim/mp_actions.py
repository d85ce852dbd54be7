"""What a WeChat user does to an account (scan, follow, unfollow, revoke, edit profile) and the event it causes."""

from __future__ import annotations

from webapp.wechat_sim import mp_events
from webapp.wechat_sim.fixture import SimApp
from webapp.wechat_sim.mp_events import PushMessage
from webapp.wechat_sim.mp_users import SCENE_QR_CODE, SCENE_SEARCH
from webapp.wechat_sim.state import SimulatorState

REVOKE_EVENT = "user_authorization_revoke"
MODIFIED_EVENT = "user_info_modified"
DEFAULT_REVOKE_INFO = {"official_account": "205", "website": "301"}  # 205 nickname+avatar; 301 all grants


class MpActionError(Exception):
    """An action that does not fit the current state; `status` is the control API's HTTP status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def _account(app: SimApp) -> SimApp:
    """Only an official account can be followed or scanned."""
    if app.kind != "official_account":
        raise MpActionError(400, f"{app.appid} is a {app.kind} app, not an official account")
    return app


def scan(state: SimulatorState, user_id: int, ticket: str, *, follow: bool) -> tuple[SimApp, PushMessage | None]:
    """Scan a parametric QR: a follower sends SCAN; a non-follower sends subscribe+qrscene_ only by following."""
    qr = state.qrcodes.by_ticket(ticket)
    app = state.fixture.app(qr.appid) if qr is not None else None
    if qr is None or app is None:
        raise MpActionError(404, "unknown or expired ticket: the phone says the code expired, no event is sent")
    openid, now = state.fixture.openid(app, user_id), state.now()
    if state.followers.get(app.appid, user_id) is not None:
        return app, mp_events.scan(app, openid, now, qr.scene, qr.ticket)
    if not follow:
        return app, None
    state.followers.follow(app.appid, user_id, SCENE_QR_CODE, qr.scene_id, qr.scene_str)
    return app, mp_events.subscribe(app, openid, now, scene=qr.scene, ticket=qr.ticket)


def follow(state: SimulatorState, app: SimApp, user_id: int) -> PushMessage:
    """Follow the account from its profile or a search: subscribe with an empty EventKey."""
    if state.followers.get(_account(app).appid, user_id) is not None:
        raise MpActionError(409, "this user already follows the account")
    state.followers.follow(app.appid, user_id, SCENE_SEARCH)
    return mp_events.subscribe(app, state.fixture.openid(app, user_id), state.now())


def unfollow(state: SimulatorState, app: SimApp, user_id: int) -> PushMessage:
    """Unfollow the account."""
    if not state.followers.unfollow(_account(app).appid, user_id):
        raise MpActionError(409, "this user does not follow the account")
    return mp_events.unsubscribe(app, state.fixture.openid(app, user_id), state.now())


def _change(state: SimulatorState, app: SimApp, user_id: int, event: str, revoke_info: str | None) -> PushMessage:
    """Build an authorization-change event about this user."""
    unionid = state.fixture.unionid(user_id) if app.bound else None
    return mp_events.authorization_change(app, event, state.fixture.openid(app, user_id), unionid, state.now(),
                                          revoke_info or DEFAULT_REVOKE_INFO[app.kind])


def revoke(state: SimulatorState, app: SimApp, user_id: int, revoke_info: str | None) -> PushMessage:
    """The user withdrew the app's authorization: its /sns tokens die and the app is told."""
    state.grants.revoke(app.appid, user_id)
    return _change(state, app, user_id, REVOKE_EVENT, revoke_info)


def change_profile(state: SimulatorState, app: SimApp, user_id: int, *, nickname: str | None,
                   headimgurl: str | None) -> PushMessage:
    """The platform changed the user's nickname or avatar: /sns/userinfo answers the new ones, the app is told."""
    if nickname is None and headimgurl is None:
        raise MpActionError(400, "give nickname, headimgurl or both")
    state.profiles.set(user_id, nickname=nickname, headimgurl=headimgurl)
    return _change(state, app, user_id, MODIFIED_EVENT, None)
