"""The official-account part of the control API: user actions that push events, push config, logs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from webapp.wechat_sim import mp_actions, mp_events
from webapp.wechat_sim.fixture import SimApp
from webapp.wechat_sim.mp_actions import MpActionError
from webapp.wechat_sim.mp_events import PushMessage
from webapp.wechat_sim.push_config import PushConfigError, parse_push_config
from webapp.wechat_sim.push_sender import verify_url
from webapp.wechat_sim.state import SimulatorState
from webapp.wechat_sim.web_util import (
    base_url,
    json_body,
    json_error,
    push_sender,
    require_app,
    require_user,
    sim_state,
)

CONFIG_FIELDS = ("url", "token", "aes_key", "mode", "timeout_s", "attempts")
Action = Callable[[SimulatorState, dict[str, Any]], tuple[SimApp, PushMessage | None, int | None]]


async def _send(request: web.Request, app: SimApp, message: PushMessage | None, user: int | None,
                wait: Any) -> web.Response:
    """Push the message (waiting for the delivery to finish unless wait is false) and describe what happened."""
    answer: dict[str, Any] = {"appid": app.appid, "user": user, "event": message.event if message else None,
                              "delivery": None}
    if user is not None:
        answer["openid"] = sim_state(request).fixture.openid(app, user)
    if message is not None:
        sender = push_sender(request)
        delivery = await sender.deliver(message) if wait is not False else sender.start(message)[0]
        answer["delivery"] = delivery.as_json()
    return web.json_response(answer)


async def _act(request: web.Request, action: Action) -> web.Response:
    """Run a user action from a JSON body and push what it caused."""
    state, data = sim_state(request), await json_body(request)
    try:
        app, message, user = action(state, data)
    except MpActionError as exc:
        return json_error(exc.status, str(exc))
    return await _send(request, app, message, user, data.get("wait", True))


def _optional_str(data: dict[str, Any], name: str) -> str | None:
    """Return a string field, None when absent, or raise 400."""
    value = data.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MpActionError(400, f"{name} must be a string or a number")
    return str(value)


def _scan(state: SimulatorState, data: dict[str, Any]) -> tuple[SimApp, PushMessage | None, int | None]:
    user, ticket = require_user(state, data.get("user")), data.get("ticket")
    if not isinstance(ticket, str) or not ticket:
        raise MpActionError(400, "ticket must be the ticket qrcode/create returned")
    if data.get("follow") not in (None, True, False):
        raise MpActionError(400, "follow must be true or false")
    app, message = mp_actions.scan(state, user, ticket, follow=data.get("follow") is True)
    return app, message, user


def _follow(state: SimulatorState, data: dict[str, Any]) -> tuple[SimApp, PushMessage | None, int | None]:
    user, app = require_user(state, data.get("user")), require_app(state, data.get("appid"), default_official=True)
    return app, mp_actions.follow(state, app, user), user


def _unfollow(state: SimulatorState, data: dict[str, Any]) -> tuple[SimApp, PushMessage | None, int | None]:
    user, app = require_user(state, data.get("user")), require_app(state, data.get("appid"), default_official=True)
    return app, mp_actions.unfollow(state, app, user), user


def _revoke(state: SimulatorState, data: dict[str, Any]) -> tuple[SimApp, PushMessage | None, int | None]:
    user, app = require_user(state, data.get("user")), require_app(state, data.get("appid"), default_official=True)
    return app, mp_actions.revoke(state, app, user, _optional_str(data, "revoke_info")), user


def _profile(state: SimulatorState, data: dict[str, Any]) -> tuple[SimApp, PushMessage | None, int | None]:
    user, app = require_user(state, data.get("user")), require_app(state, data.get("appid"), default_official=True)
    for name in ("nickname", "headimgurl"):
        if data.get(name) is not None and not isinstance(data[name], str):
            raise MpActionError(400, f"{name} must be a string")
    message = mp_actions.change_profile(state, app, user, nickname=data.get("nickname"),
                                        headimgurl=data.get("headimgurl"))
    return app, message, user


def _push(state: SimulatorState, data: dict[str, Any]) -> tuple[SimApp, PushMessage | None, int | None]:
    app, xml = require_app(state, data.get("appid"), default_official=True), data.get("xml")
    if not isinstance(xml, str) or not xml:
        raise MpActionError(400, "xml must be the message body to push, e.g. <xml>…</xml>")
    return app, mp_events.arbitrary(app, xml), None


async def scan(request: web.Request) -> web.Response:
    """POST {"user", "ticket", "follow"}: a follower sends SCAN; a non-follower subscribes only with follow=true."""
    return await _act(request, _scan)


async def follow(request: web.Request) -> web.Response:
    """POST {"user", "appid"?}: follow from the account's profile (subscribe, empty EventKey)."""
    return await _act(request, _follow)


async def unfollow(request: web.Request) -> web.Response:
    """POST {"user", "appid"?}: unfollow (unsubscribe)."""
    return await _act(request, _unfollow)


async def revoke(request: web.Request) -> web.Response:
    """POST {"user", "appid"?, "revoke_info"?}: withdraw the authorization (user_authorization_revoke)."""
    return await _act(request, _revoke)


async def profile(request: web.Request) -> web.Response:
    """POST {"user", "nickname"?, "headimgurl"?, "appid"?}: change the profile (user_info_modified)."""
    return await _act(request, _profile)


async def push(request: web.Request) -> web.Response:
    """POST {"appid"?, "xml"}: push an arbitrary body through the sender."""
    return await _act(request, _push)


async def qrcodes(request: web.Request) -> web.Response:
    """GET: the live parametric QR codes (ticket, scene, url, expiry)."""
    state, base = sim_state(request), base_url(request)
    return web.json_response([q.as_json(base) for q in state.qrcodes.live()])


async def followers(request: web.Request) -> web.Response:
    """GET [?appid=]: who follows which account, with the scene of the follow."""
    state, appid = sim_state(request), request.query.get("appid")
    answer = []
    for follow in state.followers:
        app = state.fixture.app(follow.appid)
        if app is not None and appid in (None, follow.appid):
            answer.append(follow.as_json() | {"openid": state.fixture.openid(app, follow.user_id)})
    return web.json_response(answer)


async def deliveries(request: web.Request) -> web.Response:
    """GET [?appid=&event=]: the push deliveries, oldest first, each with its attempts."""
    state, query = sim_state(request), request.query
    return web.json_response([d.as_json() for d in state.deliveries
                              if query.get("appid") in (None, d.appid) and query.get("event") in (None, d.event)])


async def clear_deliveries(request: web.Request) -> web.Response:
    """DELETE: forget every delivery."""
    sim_state(request).deliveries.clear()
    return web.json_response([])


def _config_json(state: SimulatorState, app: SimApp) -> dict[str, Any]:
    """Return {"appid", "configured", and the configuration's fields when configured}."""
    config = state.push_configs.get(app.appid)
    return {"appid": app.appid, "configured": config is not None, **(config.as_json() if config else {})}


async def get_push_config(request: web.Request) -> web.Response:
    """GET ?appid= (default: the official account): the account's push configuration."""
    state = sim_state(request)
    return web.json_response(_config_json(state, require_app(state, request.query.get("appid"),
                                                             default_official=True)))


async def set_push_config(request: web.Request) -> web.Response:
    """POST {"appid"?, "url", "token", "aes_key", "mode", "timeout_s", "attempts", "verify"?}; url null removes it."""
    state, data = sim_state(request), await json_body(request)
    app = require_app(state, data.get("appid"), default_official=True)
    if "url" in data and data["url"] is None:
        state.push_configs.pop(app.appid, None)
        return web.json_response(_config_json(state, app))
    fields = {k: v for k, v in data.items() if k not in ("appid", "verify")}
    unknown = set(fields) - set(CONFIG_FIELDS)
    if unknown:
        return json_error(400, f"unknown field(s) {', '.join(sorted(unknown))}; known: appid, "
                               f"{', '.join(CONFIG_FIELDS)}, verify")
    try:
        config = parse_push_config(fields, state.push_configs.get(app.appid))
    except PushConfigError as exc:
        return json_error(400, str(exc))
    if data.get("verify") is True:
        check = await verify_url(push_sender(request).http, config, state.now())
        if not check["ok"]:
            return json_error(422, f"URL verification failed: {check['reason']}", check=check)
    state.push_configs[app.appid] = config
    return web.json_response(_config_json(state, app))
