"""`webapp dev`: the official account's message push and follow-login, wired between the site and the simulator."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from webapp.security import random_alnum
from webapp.settings import Settings

SIM_PUSH_PREFIX = "WECHAT_SIM_PUSH_"


def dev_env(kept_secret: Callable[[str, Callable[[], str]], str]) -> dict[str, str]:
    """Defaults for WECHAT_MP_TOKEN, WECHAT_MP_AES_KEY (kept in ./var like the other dev secrets) and follow-login."""
    return {
        "WECHAT_MP_TOKEN": kept_secret("mp_token", lambda: random_alnum(32)),
        "WECHAT_MP_AES_KEY": kept_secret("mp_aes_key", lambda: random_alnum(43)),
        "WECHAT_MP_FOLLOW_LOGIN": "1",
    }


def simulator_push_env(settings: Settings, environ: Mapping[str, str]) -> dict[str, str]:
    """The simulator's WECHAT_SIM_PUSH_*: push to this site's /wechat/mp/events in safe mode (the environment wins)."""
    env = dict(environ)
    if settings.wechat_mp_token and not any(k.startswith(SIM_PUSH_PREFIX) for k in environ):
        env[SIM_PUSH_PREFIX + "URL"] = settings.public_url + "/wechat/mp/events"
        env[SIM_PUSH_PREFIX + "TOKEN"] = settings.wechat_mp_token
        env[SIM_PUSH_PREFIX + "AES_KEY"] = settings.wechat_mp_aes_key
        env[SIM_PUSH_PREFIX + "MODE"] = "safe" if settings.wechat_mp_aes_key else "plaintext"
    return env


def banner_lines(settings: Settings, *, site: str, sim: str) -> list[str]:
    """What the dev banner says about follow-login and revocation."""
    if not settings.wechat_mp_token:
        return []
    lines = [f"  - WeChat pushes to {site}/wechat/mp/events (safe mode); every delivery: {sim}/_sim/api/mp/deliveries"]
    if settings.wechat_mp_follow_login:
        lines += [
            f"  - Follow-login: {site}/login shows the official account's QR; its phone page is the newest url in",
            f"    {sim}/_sim/api/mp/qrcodes: open it in a second tab, pick a test user, Scan, Follow.",
        ]
    lines.append(f"  - Revoke, unfollow, change a profile: {sim}/#mp (see docs/wechat-events.md)")
    return lines
