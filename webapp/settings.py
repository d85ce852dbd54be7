"""Configuration: one frozen Settings built from the environment, and its validation."""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from argon2 import Parameters
from yarl import URL

from webapp.forwarded import Network, parse_networks
from webapp.security import PRODUCTION_PARAMETERS

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent


def _resources() -> Path:
    """Where templates/, static/, migrations/ and alembic.ini are: the checkout, or inside an installed wheel."""
    bundled = PACKAGE_DIR / "_bundled"  # pyproject.toml's force-include puts them there in the wheel
    return bundled if bundled.is_dir() else REPO_ROOT


RESOURCES = _resources()

DEFAULT_OPEN_BASE = "https://open.weixin.qq.com"
DEFAULT_API_BASE = "https://api.weixin.qq.com"
DEFAULT_JS_URL = "https://res.wx.qq.com/connect/zh_CN/htmledition/js/wxLogin.js"
DEFAULT_SITE_NAME = "Webapp"
DEFAULT_PUBLIC_URL = "http://localhost:8080"
DEFAULT_METRICS_ALLOW = ("127.0.0.1/32", "::1/128")
LOG_FORMATS = ("text", "json")
EVENT_LOOPS = ("uvloop", "asyncio")
POOL_MODES = ("session", "transaction")
MP_TOKEN_RE = re.compile(r"[A-Za-z0-9]{3,32}")
MP_AES_KEY_RE = re.compile(r"[A-Za-z0-9]{43}")


class ConfigError(ValueError):
    """The configuration is unusable; `problems` says which variable and how to fix it."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class WeChatAppConfig:
    """AppID and secret of one WeChat app (website app or official account)."""

    appid: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Settings:
    """Everything the site needs to run; built once in the CLI or the tests."""

    database_url: str | None = None
    secret_key: str = field(default="", repr=False)
    token_keys: tuple[str, ...] = field(default=(), repr=False)
    public_url: str = DEFAULT_PUBLIC_URL
    wechat_web: WeChatAppConfig | None = None
    wechat_mp: WeChatAppConfig | None = None
    # The mini program (jscode2session, getuserphonenumber); unset: its /api/wechat/mini/* routes answer 404.
    wechat_mini: WeChatAppConfig | None = None
    wechat_open_base: str = DEFAULT_OPEN_BASE
    wechat_api_base: str = DEFAULT_API_BASE
    wechat_js_url: str = DEFAULT_JS_URL
    wechat_timeout_s: float = 10.0
    mp_verify: Mapping[str, str] = field(default_factory=dict)
    # Addresses and CIDRs of the reverse proxies whose X-Forwarded-For is believed (see trusted_networks).
    trusted_proxies: frozenset[str] = frozenset()
    # Official account server side (message push): Token and EncodingAESKey of 基本配置 → 服务器配置.
    wechat_mp_token: str = field(default="", repr=False)
    wechat_mp_aes_key: str = field(default="", repr=False)
    # Offer "follow the official account to log in" on the login page (verified service accounts only).
    wechat_mp_follow_login: bool = False
    templates_dir: Path = RESOURCES / "templates"
    static_dir: Path = RESOURCES / "static"
    serve_static: bool = True
    session_max_age_s: int = 14 * 24 * 3600
    recent_auth_s: int = 600
    max_body_bytes: int = 64 * 1024
    run_worker: bool = True
    worker_interval_s: float = 60.0
    # Follow-login QR codes the whole site may create per hour (WeChat allows 100,000 a day).
    follow_qr_budget: int = 3000
    # Password accounts the whole site may create per hour (never counted per client address).
    signup_budget: int = 1000
    # Tokens are kept fresh only for accounts seen within this many days (bounds WeChat calls at scale).
    refresh_active_days: int = 30
    metrics_allow: tuple[str, ...] = DEFAULT_METRICS_ALLOW
    log_format: str = "text"
    # The long-running commands' event loop: uvloop (where installed), or asyncio's own (webapp.eventloop).
    event_loop: str = "uvloop"
    # "transaction" behind PgBouncer in transaction pooling mode: no server-side prepared statement reuse.
    database_pool_mode: str = "session"
    database_pool_size: int = 10
    # `webapp serve`: deadlines for a request's head and body, idle keep-alive, open connections per process.
    header_timeout_s: int = 10
    body_timeout_s: int = 30
    keepalive_timeout_s: int = 15
    max_connections: int = 1000
    dev: bool = False
    # The operator's own name and pages (titles, header, WeChat-facing texts; links on sign-up and login).
    site_name: str = DEFAULT_SITE_NAME
    privacy_url: str = ""
    terms_url: str = ""
    # argon2id cost of password hashes; not read from the environment. Tests pass argon2.profiles.CHEAPEST.
    password_parameters: Parameters = field(default_factory=lambda: PRODUCTION_PARAMETERS)
    # Variables that could not be parsed, reported by problems() (from_env never raises).
    env_problems: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str], **overrides: Any) -> Settings:
        """Read settings from environment variables (unset values keep their defaults)."""
        parse_problems: list[str] = []

        def get(name: str) -> str | None:
            return (env.get(name) or "").strip() or None

        def number(name: str, default: int, low: int, high: int) -> int:
            return _int(get(name), name, default, low, high, parse_problems)

        values: dict[str, Any] = {
            "database_url": get("DATABASE_URL"),
            "secret_key": get("SECRET_KEY") or "",
            "token_keys": _split_keys(get("TOKEN_KEYS")),
            "public_url": (get("PUBLIC_URL") or DEFAULT_PUBLIC_URL).rstrip("/"),
            "wechat_web": _app(get("WECHAT_WEB_APPID"), get("WECHAT_WEB_SECRET")),
            "wechat_mp": _app(get("WECHAT_MP_APPID"), get("WECHAT_MP_SECRET")),
            "wechat_mini": _app(get("WECHAT_MINI_APPID"), get("WECHAT_MINI_SECRET")),
            "wechat_open_base": (get("WECHAT_OPEN_BASE") or DEFAULT_OPEN_BASE).rstrip("/"),
            "wechat_api_base": (get("WECHAT_API_BASE") or DEFAULT_API_BASE).rstrip("/"),
            "wechat_js_url": get("WECHAT_JS_URL") or DEFAULT_JS_URL,
            "mp_verify": _mp_verify(get("WECHAT_MP_VERIFY")),
            "trusted_proxies": frozenset(_split_keys(get("TRUSTED_PROXIES"))),
            "wechat_mp_token": get("WECHAT_MP_TOKEN") or "",
            "wechat_mp_aes_key": get("WECHAT_MP_AES_KEY") or "",
            "wechat_mp_follow_login": _flag(get("WECHAT_MP_FOLLOW_LOGIN"), "WECHAT_MP_FOLLOW_LOGIN", parse_problems),
            "recent_auth_s": number("RECENT_AUTH_S", 600, 30, 7 * 24 * 3600),
            "follow_qr_budget": number("FOLLOW_QR_BUDGET", 3000, 1, 1_000_000),
            "signup_budget": number("SIGNUP_BUDGET", 1000, 1, 10_000_000),
            "refresh_active_days": number("REFRESH_ACTIVE_DAYS", 30, 1, 3650),
            "database_pool_size": number("DATABASE_POOL_SIZE", 10, 1, 1000),
            "header_timeout_s": number("HEADER_TIMEOUT_S", 10, 1, 3600),
            "body_timeout_s": number("BODY_TIMEOUT_S", 30, 1, 3600),
            "keepalive_timeout_s": number("KEEPALIVE_TIMEOUT_S", 15, 1, 3600),
            "max_connections": number("MAX_CONNECTIONS", 1000, 1, 1_000_000),
            "metrics_allow": _split_keys(get("METRICS_ALLOW")) or DEFAULT_METRICS_ALLOW,
            "log_format": (get("LOG_FORMAT") or "text").lower(),
            "event_loop": (get("EVENT_LOOP") or "uvloop").lower(),
            "database_pool_mode": (get("DATABASE_POOL_MODE") or "session").lower(),
            "site_name": (get("SITE_NAME") or DEFAULT_SITE_NAME)[:60],
            "privacy_url": get("PRIVACY_URL") or "",
            "terms_url": get("TERMS_URL") or "",
        }
        values["env_problems"] = tuple(parse_problems)
        values.update(overrides)
        return cls(**values)

    def with_(self, **changes: Any) -> Settings:
        """Return a copy with some fields changed."""
        return replace(self, **changes)

    @cached_property
    def trusted_networks(self) -> tuple[Network, ...]:
        """TRUSTED_PROXIES parsed once: every entry as a network (an address is a /32 or /128)."""
        return parse_networks(sorted(self.trusted_proxies))[0]

    @cached_property
    def secure_cookies(self) -> bool:
        """Cookies carry `Secure` when the site is served over https (read on every response: parsed once)."""
        return URL(self.public_url).scheme == "https"

    @property
    def callback_url(self) -> str:
        """The one redirect_uri registered for every WeChat flow."""
        return self.public_url + "/auth/wechat/callback"

    @property
    def async_database_url(self) -> str | None:
        """DATABASE_URL with the asyncpg driver SQLAlchemy needs."""
        return to_asyncpg_url(self.database_url) if self.database_url else None

    def problems(self) -> list[str]:
        """Every reason this configuration is unsafe for production, each with its fix."""
        problems: list[str] = list(self.env_problems)
        if not self.secret_key:
            problems.append(
                "SECRET_KEY is not set: set it to a long random string, e.g. "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'`."
            )
        elif len(self.secret_key) < 32:
            problems.append("SECRET_KEY is too short: use at least 32 random characters.")
        problems.extend(_token_key_problems(self.token_keys))
        problems.extend(_public_url_problems(self.public_url))
        if self.database_url and not _is_postgres_url(self.database_url):
            problems.append(
                "DATABASE_URL must start with postgresql:// or postgresql+asyncpg:// "
                f"(got scheme {URL(self.database_url).scheme!r})."
            )
        problems.extend(self._operation_problems())
        problems.extend(_mp_push_problems(self))
        for name, value in (("PRIVACY_URL", self.privacy_url), ("TERMS_URL", self.terms_url)):
            if value and URL(value).scheme not in ("http", "https"):
                problems.append(f"{name} must be an http(s) address of the page, e.g. https://www.example.com/{name[:-4].lower()}.")
        return problems

    def _operation_problems(self) -> list[str]:
        problems = []
        for cidr in self.metrics_allow:
            try:
                ipaddress.ip_network(cidr, strict=False)
            except ValueError:
                problems.append(f"METRICS_ALLOW entry {cidr!r} is not an address or CIDR (e.g. 10.0.0.0/8).")
        for entry in parse_networks(sorted(self.trusted_proxies))[1]:
            problems.append(f"TRUSTED_PROXIES entry {entry!r} is not an address or CIDR (e.g. 10.0.0.0/8).")
        if self.log_format not in LOG_FORMATS:
            problems.append(f"LOG_FORMAT must be text or json (got {self.log_format!r}).")
        if self.event_loop not in EVENT_LOOPS:
            problems.append(f"EVENT_LOOP must be uvloop or asyncio (got {self.event_loop!r}).")
        if self.database_pool_mode not in POOL_MODES:
            problems.append(
                f"DATABASE_POOL_MODE must be session or transaction (got {self.database_pool_mode!r}); "
                "use transaction behind PgBouncer's transaction pooling."
            )
        return problems

    def validate(self) -> None:
        """Raise ConfigError listing every problem, if there are any."""
        problems = self.problems()
        if problems:
            raise ConfigError(problems)


def to_asyncpg_url(url: str) -> str:
    """Turn postgresql:// (or postgres://) into postgresql+asyncpg://."""
    for prefix in ("postgresql+asyncpg://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def _is_postgres_url(url: str) -> bool:
    return url.startswith(("postgresql://", "postgresql+asyncpg://", "postgres://"))


def _int(raw: str | None, name: str, default: int, low: int, high: int, problems: list[str]) -> int:
    """An integer variable in [low, high]; a bad value is reported and the default used."""
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        problems.append(f"{name} must be a whole number from {low} to {high} (got {raw[:40]!r}).")
        return default
    return value


def _flag(raw: str | None, name: str, problems: list[str]) -> bool:
    """A yes/no variable: 1/true/yes/on or 0/false/no/off."""
    if raw is None:
        return False
    value = raw.lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value not in ("0", "false", "no", "off"):
        problems.append(f"{name} must be 1 or 0 (got {raw[:40]!r}).")
    return False


def _mp_push_problems(settings: Settings) -> list[str]:
    """WECHAT_MP_TOKEN / WECHAT_MP_AES_KEY as WeChat's 服务器配置 accepts them."""
    problems = []
    token, key = settings.wechat_mp_token, settings.wechat_mp_aes_key
    if token and not MP_TOKEN_RE.fullmatch(token):
        problems.append("WECHAT_MP_TOKEN must be 3 to 32 letters or digits (服务器配置 → Token).")
    if key and not MP_AES_KEY_RE.fullmatch(key):
        problems.append(
            f"WECHAT_MP_AES_KEY must be exactly 43 letters or digits (服务器配置 → EncodingAESKey); got {len(key)} characters."
        )
    if key and not token:
        problems.append("WECHAT_MP_AES_KEY is set but WECHAT_MP_TOKEN is not: messages are signed with the Token.")
    if settings.wechat_mp_follow_login and not (settings.wechat_mp and token):
        problems.append(
            "WECHAT_MP_FOLLOW_LOGIN needs the official account (WECHAT_MP_APPID/SECRET) and its message push "
            "(WECHAT_MP_TOKEN): the scan arrives as a pushed event."
        )
    return problems


def _split_keys(raw: str | None) -> tuple[str, ...]:
    return tuple(k.strip() for k in (raw or "").split(",") if k.strip())


def _app(appid: str | None, secret: str | None) -> WeChatAppConfig | None:
    if not appid and not secret:
        return None
    return WeChatAppConfig(appid=appid or "", secret=secret or "")


def _mp_verify(raw: str | None) -> dict[str, str]:
    """WECHAT_MP_VERIFY=`MP_verify_abc.txt=abc` (comma-separated) → {filename: content}."""
    result: dict[str, str] = {}
    for item in (raw or "").split(","):
        name, sep, content = item.strip().partition("=")
        if sep:
            result[name.strip()] = content.strip()
    return result


def _token_key_problems(keys: tuple[str, ...]) -> list[str]:
    if not keys:
        return [
            ("TOKEN_KEYS is not set: set it to one or more comma-separated Fernet keys, e.g. "
             "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`.")
        ]
    problems = []
    for index, key in enumerate(keys, start=1):
        if not is_fernet_key(key):
            problems.append(
                f"TOKEN_KEYS key #{index} is not a Fernet key (32 bytes, url-safe base64, 44 characters): "
                "generate one with `python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'`."
            )
    return problems


def is_fernet_key(key: str) -> bool:
    """True when `key` is 32 bytes of url-safe base64, as Fernet requires."""
    try:
        return len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
    except (binascii.Error, ValueError, UnicodeEncodeError):
        return False


def _public_url_problems(public_url: str) -> list[str]:
    try:
        url = URL(public_url)
    except (ValueError, TypeError):
        return [f"PUBLIC_URL {public_url!r} is not a URL: use e.g. https://www.example.com"]
    if url.scheme not in ("http", "https") or not url.host:
        return [f"PUBLIC_URL {public_url!r} must be an absolute http(s) URL such as https://www.example.com"]
    if url.path not in ("", "/") or url.query_string or url.fragment:
        return [
            (f"PUBLIC_URL {public_url!r} must be the site's base URL without path, query or fragment "
             "(WeChat's callback domain is a host, not a path).")
        ]
    return []
