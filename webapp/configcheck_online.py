"""`webapp check-config --online`: ask WeChat (or the simulator) whether each app's AppID and secret are right.

A website app has no client-credential call; exchanging a made-up code tells instead: 40029 (invalid
code) means WeChat accepted the AppID and the secret, 40013 the AppID is unknown, 40125 the secret is
wrong. The official account asks /cgi-bin/stable_token (normal mode, no refresh: the site's token stays).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp

from webapp.settings import Settings, WeChatAppConfig
from webapp.text import clean_text

PROBE_CODE = "webapp-check-config"  # never a real code: WeChat must answer 40029 for a valid app
TIMEOUT = aiohttp.ClientTimeout(total=10)


@dataclass(frozen=True)
class Verdict:
    """What WeChat said about one app: right (True), wrong (False) or unknown (None), and in words."""

    ok: bool | None
    text: str


async def probe(settings: Settings) -> dict[str, Verdict]:
    """One verdict per configured app, keyed by its variables' prefix (WECHAT_WEB, WECHAT_MP, WECHAT_MINI)."""
    verdicts: dict[str, Verdict] = {}
    async with aiohttp.ClientSession(timeout=TIMEOUT) as http:
        if _complete(settings.wechat_web):
            assert settings.wechat_web is not None
            verdicts["WECHAT_WEB"] = await _website(http, settings.wechat_api_base, settings.wechat_web)
        if _complete(settings.wechat_mp):
            assert settings.wechat_mp is not None
            verdicts["WECHAT_MP"] = await _app_token(http, settings.wechat_api_base, settings.wechat_mp, "WECHAT_MP")
        if _complete(settings.wechat_mini):
            assert settings.wechat_mini is not None
            verdicts["WECHAT_MINI"] = await _app_token(
                http, settings.wechat_api_base, settings.wechat_mini, "WECHAT_MINI"
            )
    return verdicts


def _complete(app: WeChatAppConfig | None) -> bool:
    return app is not None and bool(app.appid) and bool(app.secret)


async def _website(http: aiohttp.ClientSession, base: str, app: WeChatAppConfig) -> Verdict:
    params = {"appid": app.appid, "secret": app.secret, "code": PROBE_CODE, "grant_type": "authorization_code"}
    answer = await _call(http, "GET", f"{base}/sns/oauth2/access_token", params=params)
    if isinstance(answer, Verdict):
        return answer
    errcode = answer.get("errcode")
    if errcode in (40029, 40163):
        return Verdict(True, "WeChat accepts WECHAT_WEB_APPID and WECHAT_WEB_SECRET (a made-up code was refused "
                             f"as a code: {errcode})")
    return _credential_verdict("WECHAT_WEB", app, answer)


async def _app_token(http: aiohttp.ClientSession, base: str, app: WeChatAppConfig, prefix: str) -> Verdict:
    """An official account or a mini program: both have an interface token (stable_token) to ask for."""
    body = {"grant_type": "client_credential", "appid": app.appid, "secret": app.secret, "force_refresh": False}
    answer = await _call(http, "POST", f"{base}/cgi-bin/stable_token", json=body)
    if isinstance(answer, Verdict):
        return answer
    if isinstance(answer.get("access_token"), str) and not answer.get("errcode"):
        return Verdict(True, f"WeChat accepts {prefix}_APPID and {prefix}_SECRET (stable_token answered a token)")
    if answer.get("errcode") == 40164:
        return Verdict(False, "WeChat refuses this server's IP address (40164): add it to the app's IP whitelist "
                              "(基本配置 → IP白名单); the AppID and secret could not be checked")
    if answer.get("errcode") == 40243:
        return Verdict(False, f"{prefix}_SECRET is frozen (40243): unfreeze or reset it in the app's console")
    return _credential_verdict(prefix, app, answer)


def _credential_verdict(prefix: str, app: WeChatAppConfig, answer: Mapping[str, Any]) -> Verdict:
    errcode = answer.get("errcode")
    if errcode == 40013:
        return Verdict(False, f"WeChat does not know {prefix}_APPID (40013 invalid appid): copy it again from the "
                              "console (开发信息 / 基本配置)")
    if errcode in (40125, 40001):
        return Verdict(False, f"WeChat refuses {prefix}_SECRET for {app.appid} ({errcode} invalid appsecret): copy "
                              "it again, or reset it in the console and use the new one")
    if errcode in (41002, 41004):
        return Verdict(False, f"{prefix}_APPID or {prefix}_SECRET is empty ({errcode})")
    message = clean_text(str(answer.get("errmsg", ""))[:120], 120)
    return Verdict(None, f"WeChat answered {str(errcode)[:12]} {message!r}: could not tell whether "
                         f"{prefix}_APPID and {prefix}_SECRET are right")


async def _call(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> dict[str, Any] | Verdict:
    try:
        async with http.request(method, url, **kwargs) as resp:
            answer = await resp.json(content_type=None)
    except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
        return Verdict(None, f"could not ask WeChat at {url.split('?')[0]} ({type(exc).__name__})")
    if not isinstance(answer, dict):
        return Verdict(None, f"WeChat's answer at {url} was not a JSON object")
    return answer
