"""WeChat's website app registered with Authlib's Starlette client, through Authlib's documented hooks.

WeChat's OAuth 2 is not quite standard (wechat-protocol §1, §5): the authorize URL wants `appid`, the token
endpoint takes GET with `appid` and `secret` in the query and answers `text/plain` JSON without `token_type`,
errors come with HTTP 200 and `errcode`, and `/sns/userinfo` wants `access_token` and `openid` in the query.
"""

from __future__ import annotations

import ssl
from typing import Any

import httpx
from authlib.common.urls import add_params_to_uri
from authlib.integrations.starlette_client import OAuth

from benchmarks.fastapi_peer.settings import Settings

AUTH_METHOD = "wechat_query"
# Authlib opens a new httpx client for every call, and httpx builds a TLS context (the CA bundle loaded:
# about 20 ms of CPU) for every client: one context for all of them, as httpx's SSL docs advise.
TLS_CONTEXT = ssl.create_default_context()


def wechat_query_auth(client: Any, method: str, uri: str, headers: dict[str, str], body: str) -> tuple[str, Any, str]:
    """Client authentication at WeChat's token endpoint: `appid` and `secret` as query parameters."""
    return add_params_to_uri(uri, [("appid", client.client_id), ("secret", client.client_secret)]), headers, body


def wechat_compliance_fix(session: Any) -> None:
    """Make WeChat's token answer an OAuth 2 one: errcode → error, and the missing token_type."""

    def fix_token_response(resp: httpx.Response) -> httpx.Response:
        token = resp.json()  # httpx decodes the text/plain body as JSON whatever its content type
        if token.get("errcode"):
            token = {"error": str(token["errcode"]), "error_description": token.get("errmsg", "")}
        else:
            token.setdefault("token_type", "bearer")
        resp.json = lambda **_: token  # type: ignore[method-assign]  (Authlib's documented pattern)
        return resp

    session.register_compliance_hook("access_token_response", fix_token_response)


def make_oauth(settings: Settings) -> OAuth:
    """An Authlib registry with the `wechat` client pointed at the configured open and API bases."""
    oauth = OAuth()
    oauth.register(
        name="wechat",
        client_id=settings.wechat_appid,
        client_secret=settings.wechat_secret,
        authorize_url=f"{settings.wechat_open_base}/connect/qrconnect",
        authorize_params={"appid": settings.wechat_appid},
        access_token_url=f"{settings.wechat_api_base}/sns/oauth2/access_token",
        access_token_params={"method": "GET"},
        api_base_url=f"{settings.wechat_api_base}/",
        client_kwargs={"scope": "snsapi_login", "token_endpoint_auth_method": AUTH_METHOD, "token_placement": "uri",
                       "verify": TLS_CONTEXT},
        client_auth_methods=[(AUTH_METHOD, wechat_query_auth)],
        compliance_fix=wechat_compliance_fix,
    )
    return oauth
