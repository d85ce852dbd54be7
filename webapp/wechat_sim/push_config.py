"""Where and how an account's events are pushed: URL, Token, EncodingAESKey, mode, timeout, attempts."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from yarl import URL

MODES = ("plaintext", "compatible", "safe")
DEFAULT_TIMEOUT_S = 5.0
DEFAULT_ATTEMPTS = 3
MAX_TIMEOUT_S = 120.0
MAX_ATTEMPTS = 10
ENV_PREFIX = "WECHAT_SIM_PUSH_"
_TOKEN_RE = re.compile(r"[A-Za-z0-9]{3,32}")
_AES_KEY_RE = re.compile(r"[A-Za-z0-9]{43}")


class PushConfigError(ValueError):
    """A push configuration WeChat's console would refuse."""


@dataclass(frozen=True)
class PushConfig:
    """One account's message-push server configuration (基本配置 → 服务器配置)."""

    url: str
    token: str
    aes_key: str = ""
    mode: str = "plaintext"
    timeout_s: float = DEFAULT_TIMEOUT_S
    attempts: int = DEFAULT_ATTEMPTS

    def as_json(self) -> dict[str, Any]:
        """Return the control API's view (the AES key and token included: this is a test double)."""
        return asdict(self)


def _url(value: Any) -> str:
    """Return an absolute http(s) URL or refuse it."""
    try:
        url = URL(value) if isinstance(value, str) else None
    except ValueError:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise PushConfigError(f"url must be an absolute http:// or https:// URL, got {value!r}")
    return str(value)


def _number(name: str, value: Any, low: float, high: float, kind: type) -> Any:
    """Return value as `kind` when it is a number within [low, high]."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise PushConfigError(f"{name} must be a number from {low:g} to {high:g}, got {value!r}")
    if kind is int and value != int(value):
        raise PushConfigError(f"{name} must be a whole number, got {value!r}")
    return kind(value)


def _check(config: PushConfig) -> PushConfig:
    """Validate a complete configuration as WeChat's console would."""
    if not isinstance(config.token, str) or not _TOKEN_RE.fullmatch(config.token):
        raise PushConfigError("token must be 3-32 letters or digits")
    if config.mode not in MODES:
        raise PushConfigError(f"mode must be one of {', '.join(MODES)}, got {config.mode!r}")
    needs_key = config.aes_key or config.mode != "plaintext"
    if needs_key and (not isinstance(config.aes_key, str) or not _AES_KEY_RE.fullmatch(config.aes_key)):
        raise PushConfigError("aes_key (EncodingAESKey) must be 43 letters or digits in compatible and safe mode")
    return config


def parse_push_config(data: Mapping[str, Any], current: PushConfig | None = None) -> PushConfig:
    """Merge the given fields over `current` (omitted fields keep their value) and validate the result."""
    if current is None and ("url" not in data or "token" not in data):
        raise PushConfigError("url and token are required when the account has no push configuration yet")
    base = current or PushConfig(url="", token="")
    changes: dict[str, Any] = {}
    if "url" in data:
        changes["url"] = _url(data["url"])
    for name in ("token", "aes_key", "mode"):
        if name in data:
            changes[name] = data[name] if data[name] is not None else ""
    if "aes_key" in changes and "mode" not in data and current is None:
        changes["mode"] = "safe" if changes["aes_key"] else "plaintext"
    if "timeout_s" in data:
        changes["timeout_s"] = _number("timeout_s", data["timeout_s"], 0.001, MAX_TIMEOUT_S, float)
    if "attempts" in data:
        changes["attempts"] = _number("attempts", data["attempts"], 1, MAX_ATTEMPTS, int)
    return _check(replace(base, **changes))


def push_from_env(environ: Mapping[str, str]) -> PushConfig | None:
    """Read WECHAT_SIM_PUSH_URL/_TOKEN/_AES_KEY/_MODE; None when no URL is set."""
    url = environ.get(ENV_PREFIX + "URL", "").strip()
    if not url:
        return None
    data: dict[str, Any] = {"url": url, "token": environ.get(ENV_PREFIX + "TOKEN", "")}
    for name in ("aes_key", "mode"):
        value = environ.get(ENV_PREFIX + name.upper(), "").strip()
        if value:
            data[name] = value
    try:
        return parse_push_config(data)
    except PushConfigError as exc:
        raise PushConfigError(f"{ENV_PREFIX}*: {exc}") from exc


def push_from_fixture(app: Mapping[str, Any]) -> PushConfig | None:
    """Read an app's push_url/push_token/push_aes_key/push_mode/push_timeout_s/push_attempts from fixture JSON."""
    if not app.get("push_url"):
        return None
    data = {k[len("push_"):]: v for k, v in app.items() if k.startswith("push_")}
    try:
        return parse_push_config(data)
    except PushConfigError as exc:
        raise PushConfigError(f"fixture app {app.get('appid')!r}: {exc}") from exc
