"""The mini program's JSON API: log in with a wx.login code, add a verified phone number, end the token."""

from __future__ import annotations

import json
import logging
import re
from typing import Any

from aiohttp import web

from webapp import ratelimit
from webapp.accounts.account import Account
from webapp.clientinfo import client_ip
from webapp.csrf import csrf_exempt
from webapp.keys import cipher_key, clock_key, database_key, settings_key
from webapp.observability import metrics
from webapp.security import digest
from webapp.sessions import draft_session, loaded_account
from webapp.wechat import service
from webapp.wechat.errors import WeChatError
from webapp.wechat.grants import Grant
from webapp.wechat.mini import store
from webapp.wechat.mini.bearer import bearer_only, bearer_token, unauthorized
from webapp.wechat.mini.errors import InvalidMiniCode, RiskyUser
from webapp.wechat.mini.runtime import MiniRuntime, mini_runtime
from webapp.wechat.mini.schemas import MiniSession

log = logging.getLogger("webapp.wechat.mini")
CODE_RE = re.compile(r"[A-Za-z0-9_-]{1,128}", re.ASCII)
PHONE_WINDOW = ratelimit.FLOW_WINDOW
PHONES_PER_TOKEN = 10  # getuserphonenumber is paid per success: a token gets a few tries per 10 minutes
NO_STORE = {"Cache-Control": "no-store"}


def _error(status: int, error: str, message: str | None = None) -> web.Response:
    body = {"error": error} | ({"message": message} if message else {})
    return web.json_response(body, status=status, headers=NO_STORE)


def _runtime(request: web.Request) -> MiniRuntime:
    runtime = mini_runtime(request.app)
    if runtime is None:
        raise web.HTTPNotFound()  # WECHAT_MINI_APPID is not set
    return runtime


async def _code(request: web.Request) -> str | web.Response:
    """The body's code, or the 400 that says what is wrong with the body."""
    try:
        data: Any = json.loads(await request.read())
    except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
        return _error(400, "invalid_request", 'the body must be JSON: {"code": "…"}')
    if not isinstance(data, dict) or not isinstance(data.get("code"), str):
        return _error(400, "invalid_request", 'the body must be a JSON object with a "code" string')
    if not CODE_RE.fullmatch(data["code"]):
        return _error(400, "invalid_code")
    return str(data["code"])


def _wechat_failure(exc: WeChatError) -> web.Response:
    """A WeChat error as the API states it: bad code 400, risky 403, anything else 503."""
    if isinstance(exc, InvalidMiniCode):
        return _error(400, "invalid_code")
    if isinstance(exc, RiskyUser):
        return _error(403, "risky_user")
    log.warning("mini program call failed: %s", type(exc).__name__)
    return _error(503, "wechat_unavailable")


@csrf_exempt  # authenticated by the code itself; answers a token in the body, never a cookie
async def login(request: web.Request) -> web.StreamResponse:
    """POST /api/wechat/mini/login {"code"}: the person's account (found, linked by unionid, or new) and a token."""
    runtime = _runtime(request)
    code = await _code(request)
    if isinstance(code, web.Response):
        return code
    try:
        session = await runtime.client.code_to_session(runtime.app, code)
    except WeChatError as exc:
        metrics.login(store.MINI_METHOD, "denied" if isinstance(exc, RiskyUser) else "error")
        return _wechat_failure(exc)
    answer = await _sign_in(request, runtime, session)
    metrics.login(store.MINI_METHOD, "success" if answer.status == 200 else _OUTCOMES.get(answer.status, "error"))
    return answer


_OUTCOMES = {403: "disabled", 429: "throttled"}


async def _sign_in(request: web.Request, runtime: MiniRuntime, session: MiniSession) -> web.Response:
    """The identity core's login (shared with the other kinds of app), then the mini program's own writes."""
    app, now = request.app, request.app[clock_key]()
    draft = draft_session(request, now)
    actor = service.Actor(client=store.MINI_CLIENT, ip=client_ip(request), method=store.MINI_METHOD)
    outcome = await service.login(
        app[database_key], app[cipher_key], runtime.app, Grant(session.openid, session.unionid, None, None),
        actor=actor, now=now, session=draft,
    )
    if outcome.kind != "login" or outcome.user_id is None:
        return _error(403, "account_disabled") if outcome.reason == "disabled" else _error(503, "wechat_unavailable")
    async with app[database_key].connection() as conn:
        row = await store.after_login(conn, appid=runtime.app.appid, openid=session.openid,
                                      session_key_enc=app[cipher_key].encrypt(session.session_key),
                                      session_id=draft.id, now=now)
    if row is None or row["id"] is None:  # the account went away in between (deleted or disabled)
        return _error(503, "wechat_unavailable")
    if not row["allowed"]:
        return _error(429, "too_many_requests")
    user = Account.from_row(row).as_json(app[settings_key].public_url)
    for identity in user["wechat"]:  # the row was read before the same statement made this identity active
        if (identity["appid"], identity["openid"]) == (runtime.app.appid, session.openid):
            identity["status"] = "active"
    expires_in = int((draft.expires_at - now).total_seconds())
    return web.json_response({"token": draft.key, "expires_in": expires_in, "user": user}, headers=NO_STORE)


@bearer_only
async def phone(request: web.Request) -> web.Response:
    """POST /api/wechat/mini/phone {"code"} with a bearer token: store the number WeChat verified."""
    runtime, token = _runtime(request), bearer_token(request)
    if token is None:
        return unauthorized()
    account: Account | None = loaded_account(request)
    assert account is not None  # the bearer middleware loaded it with the token
    code = await _code(request)
    if isinstance(code, web.Response):
        return code
    db, now = request.app[database_key], request.app[clock_key]()
    async with db.connection() as conn:
        if not await ratelimit.hit(conn, f"mini-phone:{digest(token)[:40]}", limit=PHONES_PER_TOKEN,
                                   window=PHONE_WINDOW, now=now):
            return _error(429, "too_many_requests")
    try:
        number = await runtime.tokens.call(lambda access: runtime.client.phone_number(runtime.app, access, code))
    except WeChatError as exc:
        return _wechat_failure(exc)
    try:
        async with db.connection() as conn:
            await store.set_phone(conn, user_id=account.id, phone=number.e164, ip=client_ip(request), now=now)
    except store.PhoneInUse:
        return _error(409, "phone_in_use")
    return web.json_response({"phone": number.e164}, headers=NO_STORE)


@bearer_only
async def logout(request: web.Request) -> web.Response:
    """POST /api/logout with a bearer token: that token ends (204)."""
    token = bearer_token(request)
    if token is None:
        return unauthorized()
    async with request.app[database_key].connection() as conn:
        await conn.execute(store.END_SQL, digest(token))
    return web.Response(status=204, headers=NO_STORE)
