"""The semantics of /sns/oauth2/access_token, /sns/oauth2/refresh_token, /sns/auth and /sns/userinfo."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from webapp.wechat_sim import errors as e
from webapp.wechat_sim.avatar import avatar_url
from webapp.wechat_sim.errors import SnsError
from webapp.wechat_sim.fixture import SimApp
from webapp.wechat_sim.grants import ACCESS_TTL_S, AccessToken, Grant, GrantBook
from webapp.wechat_sim.mp_users import ProfileBook

__all__ = ["avatar_url", "check_auth", "exchange_code", "refresh_token", "userinfo"]

SNAPSHOT_NICKNAME = "微信用户"


def _require(params: Mapping[str, str], name: str, errcode: int) -> str:
    """Return a non-empty parameter or raise the errcode WeChat uses for its absence."""
    value = params.get(name, "")
    if not value:
        raise SnsError(errcode)
    return value


def _app(book: GrantBook, appid: str) -> SimApp:
    """Return the app or raise 40013."""
    app = book.fixture.app(appid)
    if app is None:
        raise SnsError(e.INVALID_APPID)
    return app


def _token_json(grant: Grant) -> dict[str, Any]:
    """Return the body shared by the code exchange and the refresh (no token_type, as WeChat)."""
    assert grant.access is not None
    return {"access_token": grant.access.token, "expires_in": int(ACCESS_TTL_S),
            "refresh_token": grant.refresh_token, "openid": grant.openid, "scope": grant.scope}


def exchange_code(book: GrantBook, params: Mapping[str, str]) -> dict[str, Any]:
    """Exchange appid+secret+code for a token pair."""
    appid = _require(params, "appid", e.APPID_MISSING)
    secret = _require(params, "secret", e.APPSECRET_MISSING)
    value = _require(params, "code", e.CODE_MISSING)
    if params.get("grant_type") != "authorization_code":
        raise SnsError(e.INVALID_GRANT_TYPE)
    app = _app(book, appid)
    if secret != app.secret:
        raise SnsError(e.INVALID_APPSECRET)
    code = book.codes.get(value)
    if code is None or code.appid != appid or code.expires_at <= book.now():
        raise SnsError(e.INVALID_CODE)
    if code.used:
        raise SnsError(e.CODE_BEEN_USED)
    code.used = True
    grant = book.grant_for(app, code)
    body = _token_json(grant)
    if grant.unionid is not None:
        body["unionid"] = grant.unionid
    if grant.snapshot:
        body["is_snapshotuser"] = 1
    return body


def refresh_token(book: GrantBook, params: Mapping[str, str]) -> dict[str, Any]:
    """Renew the access_token: same value while valid, a new one after it expired."""
    appid = _require(params, "appid", e.APPID_MISSING)
    value = _require(params, "refresh_token", e.REFRESH_TOKEN_MISSING)
    if params.get("grant_type") != "refresh_token":
        raise SnsError(e.INVALID_GRANT_TYPE)
    _app(book, appid)
    grant = book.refresh.get(value)
    if grant is None or grant.app.appid != appid or not book.is_live(grant):
        raise SnsError(e.INVALID_REFRESH_TOKEN)
    if grant.refresh_expires_at <= book.now():
        raise SnsError(e.REFRESH_TOKEN_EXPIRED)
    assert grant.access is not None
    if grant.access.expires_at > book.now():
        grant.access.expires_at = book.now() + ACCESS_TTL_S
    else:
        book.new_access_token(grant)
    return _token_json(grant)


def _access(book: GrantBook, params: Mapping[str, str], unknown: int) -> AccessToken:
    """Return the live access token named by the request, checking openid too."""
    value = _require(params, "access_token", e.ACCESS_TOKEN_MISSING)
    openid = _require(params, "openid", e.OPENID_MISSING)
    token = book.access.get(value)
    if token is None or not book.is_live(token.grant):
        raise SnsError(unknown)
    if token.expires_at <= book.now():
        raise SnsError(e.ACCESS_TOKEN_EXPIRED)
    if token.grant.openid != openid:
        raise SnsError(e.INVALID_OPENID)
    return token


def check_auth(book: GrantBook, params: Mapping[str, str]) -> dict[str, Any]:
    """Answer /sns/auth: is this access_token valid for this openid."""
    _access(book, params, e.INVALID_ACCESS_TOKEN)
    return {"errcode": 0, "errmsg": "ok"}


def userinfo(book: GrantBook, params: Mapping[str, str], base_url: str, profiles: ProfileBook) -> dict[str, Any]:
    """Answer /sns/userinfo with the post-2021 profile shape."""
    grant = _access(book, params, e.INVALID_CREDENTIAL).grant
    if grant.scope == "snsapi_base":
        raise SnsError(e.API_UNAUTHORIZED)
    nickname, avatar = _profile(book, grant, base_url, profiles)
    body: dict[str, Any] = {"openid": grant.openid, "nickname": nickname, "sex": 0, "language": "",
                            "city": "", "province": "", "country": "", "headimgurl": avatar,
                            "privilege": []}
    if grant.unionid is not None:
        body["unionid"] = grant.unionid
    return body


def _profile(book: GrantBook, grant: Grant, base_url: str, profiles: ProfileBook) -> tuple[str, str]:
    """Return (nickname, headimgurl) as edited now; snapshot users get virtual ones."""
    user = book.fixture.user(grant.user_id)
    if grant.snapshot or user is None:
        return SNAPSHOT_NICKNAME, avatar_url(base_url, 0)
    return profiles.nickname(user), profiles.headimgurl(user, base_url)
