"""`webapp check-config`: every configuration problem, the WeChat side, and what to enter in WeChat's consoles."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from yarl import URL

from webapp.configcheck_online import Verdict
from webapp.settings import DEFAULT_API_BASE, DEFAULT_JS_URL, DEFAULT_OPEN_BASE, Settings, WeChatAppConfig

OK, BAD, WARN, NOTE = "✓", "✗", "⚠", "·"
APPID_RE = re.compile(r"wx[0-9a-f]{16}")
SECRET_RE = re.compile(r"[0-9a-f]{32}")
MP_VERIFY_NAME_RE = re.compile(r"MP_verify_[A-Za-z0-9]+\.txt")
GENERAL_VARIABLES = ("SECRET_KEY", "TOKEN_KEYS", "PUBLIC_URL", "DATABASE_URL")
WECHAT_HOST_SUFFIXES = (".weixin.qq.com", ".wx.qq.com", ".qq.com")


@dataclass
class _Report:
    """Lines of the report and how many of them are problems or warnings."""

    lines: list[str] = field(default_factory=list)
    errors: int = 0
    warnings: int = 0

    def section(self, title: str) -> None:
        self.lines += ["", title]

    def add(self, mark: str, text: str) -> None:
        self.errors += mark == BAD
        self.warnings += mark == WARN
        self.lines.append(f"  {mark} {text}")

    def detail(self, text: str) -> None:
        self.lines.append(f"      {text}")


def report(settings: Settings, online: Mapping[str, Verdict] | None = None) -> tuple[bool, str]:
    """Check `settings`; return (no problems found, a friendly multi-line report without secrets).

    `online`: what WeChat said about each app (webapp.configcheck_online.probe), for `--online`.
    """
    r = _Report(lines=["Configuration check" + (" (online: WeChat was asked)" if online is not None else "")])
    _general(r, settings)
    host = _callback_domain(r, settings)
    verdicts = online or {}
    _app(r, "Website app (WECHAT_WEB_*)", "WECHAT_WEB", settings.wechat_web, verdicts.get("WECHAT_WEB"), serves=(
        "QR login on WeChat's page (redirect) and the QR embedded in /login (wxLogin.js)"))
    _app(r, "Official account (WECHAT_MP_*)", "WECHAT_MP", settings.wechat_mp, verdicts.get("WECHAT_MP"), serves=(
        "login inside WeChat's browser (snsapi_base, then snsapi_userinfo once)"))
    _app(r, "Mini program (WECHAT_MINI_*)", "WECHAT_MINI", settings.wechat_mini, verdicts.get("WECHAT_MINI"),
         serves="the mini program's API (/api/wechat/mini/login and /phone, bearer tokens)")
    _apps_together(r, settings)
    _mp_server(r, settings)
    _endpoints(r, settings)
    _console_steps(r, settings, host)
    r.section("Result")
    if r.errors:
        r.add(BAD, f"{r.errors} problem(s) to fix, {r.warnings} warning(s)")
    else:
        r.add(OK, f"no problems, {r.warnings} warning(s)")
    return r.errors == 0, "\n".join(r.lines)


def _general(r: _Report, settings: Settings) -> None:
    """Settings.problems(), one ✗ each, and a ✓ for each variable without one."""
    r.section("Site")
    problems = settings.problems()
    for name in GENERAL_VARIABLES:
        own = [p for p in problems if p.startswith(name)]
        for problem in own:
            r.add(BAD, problem)
        if not own:
            _general_ok(r, settings, name)
    for problem in problems:
        if not problem.startswith(GENERAL_VARIABLES):
            r.add(BAD, problem)


def _general_ok(r: _Report, settings: Settings, name: str) -> None:
    """The ✓ (or missing DATABASE_URL ✗) line of one variable that has no problem."""
    if name == "SECRET_KEY":
        r.add(OK, "SECRET_KEY is set")
    elif name == "TOKEN_KEYS":
        r.add(OK, f"TOKEN_KEYS holds {len(settings.token_keys)} Fernet key(s): the first encrypts, all decrypt")
    elif name == "PUBLIC_URL":
        r.add(OK, f"PUBLIC_URL is {settings.public_url}")
    elif not settings.database_url:
        r.add(BAD, "DATABASE_URL is not set: `webapp serve` and `webapp worker` refuse to start without it "
                   "(only `webapp dev` runs an embedded database).")
    else:
        url = URL(settings.database_url)
        where = f" on {url.host}" if url.host else ""
        r.add(OK, f"DATABASE_URL is a PostgreSQL URL{where} (database {url.path.lstrip('/') or '?'})")


def _is_local(host: str) -> bool:
    """localhost or an IP address: not something WeChat's production consoles accept as a domain."""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def _callback_domain(r: _Report, settings: Settings) -> str | None:
    """Check PUBLIC_URL's host as WeChat's callback domain; return the host, or None if unusable."""
    r.section("Callback domain (from PUBLIC_URL)")
    try:
        url = URL(settings.public_url)
    except (TypeError, ValueError):
        url = URL()
    host = url.host
    if not url.absolute or not host or url.path not in ("", "/"):
        r.add(BAD, "PUBLIC_URL must be the site's base URL, e.g. https://www.example.com (see above).")
        return None
    r.add(OK, f"callback domain: {host}   redirect_uri: {settings.callback_url}")
    local = _is_local(host)
    if local:
        r.add(WARN, f"{host} is not a domain WeChat's consoles accept: fine with the simulator or the "
                    "sandbox account (测试号); production needs the site's real domain.")
    if not url.is_default_port():
        if local:
            r.add(WARN, f"port {url.port}: only the sandbox account (测试号) accepts host:port.")
        else:
            r.add(BAD, f"PUBLIC_URL has port {url.port}: WeChat's callback domains take no port "
                       "(redirect_uri 参数错误 / 10003). Serve the site on 443, e.g. behind a reverse proxy.")
    if url.scheme != "https":
        text = ("PUBLIC_URL is not https: cookies are not marked Secure and WeChat's codes travel in clear. "
                "Use https in production.")
        r.add(WARN if local else BAD, text)
    return host


def _tail(value: str) -> str:
    """At most the last 4 characters of a secret, and only when it is long enough not to give it away."""
    return f" (…{value[-4:]})" if len(value) >= 20 else ""


def _shown_appid(app: WeChatAppConfig) -> str:
    """The AppID when it has an AppID's shape; anything else might be a misplaced secret."""
    return app.appid if APPID_RE.fullmatch(app.appid) else "your website app"


def _app(
    r: _Report, title: str, prefix: str, app: WeChatAppConfig | None, verdict: Verdict | None, *, serves: str
) -> None:
    """AppID and secret shapes of one WeChat app, what WeChat said of them, and which flow it serves."""
    r.section(title)
    errors_before = r.errors
    if app is None:
        r.add(NOTE, f"not configured ({prefix}_APPID and {prefix}_SECRET unset): {serves} is hidden")
        return
    if not app.appid:
        r.add(BAD, f"{prefix}_APPID is not set but {prefix}_SECRET is: set both, or neither.")
    elif APPID_RE.fullmatch(app.appid):
        r.add(OK, f"{prefix}_APPID {app.appid}")
    else:
        # Not echoed: a secret pasted into the wrong variable must not end up on the console.
        r.add(BAD, f"{prefix}_APPID does not look like an AppID ({len(app.appid)} characters): 'wx' and 16 hex "
                   "digits (console → 开发信息 / 基本配置).")
    if not app.secret:
        r.add(BAD, f"{prefix}_SECRET is not set: copy the AppSecret from the console (开发信息 / 基本配置).")
    elif SECRET_RE.fullmatch(app.secret):
        r.add(OK, f"{prefix}_SECRET is set{_tail(app.secret)}")
    else:
        r.add(BAD, f"{prefix}_SECRET is not 32 hex digits{_tail(app.secret)}: check it was copied whole "
                   "(a reset in the console makes the old one invalid: 40125).")
    if verdict is not None:
        r.add({True: OK, False: BAD, None: WARN}[verdict.ok], verdict.text)
    if r.errors > errors_before:  # never "✓ serves" under a ✗ of its own
        r.add(NOTE, f"{serves} will not work until the above is fixed")
    else:
        r.add(OK, f"serves {serves}")


def _apps_together(r: _Report, settings: Settings) -> None:
    """Checks that need both apps: at least one, not the same one twice, the MP_verify file."""
    web, mp = settings.wechat_web, settings.wechat_mp
    if web is None and mp is None:
        r.add(WARN, "no WeChat app is configured: only username + password login is offered.")
    if web and mp and web.appid and web.appid == mp.appid:
        r.add(BAD, "WECHAT_WEB_APPID and WECHAT_MP_APPID are the same: a website app and an official account "
                   "are different apps (the wrong one gives 'Scope 参数错误').")
    if mp is None:
        return
    if not settings.mp_verify:
        r.add(WARN, "WECHAT_MP_VERIFY is not set: WeChat verifies 网页授权域名 by fetching the MP_verify_….txt "
                    "file it gives you; set WECHAT_MP_VERIFY=MP_verify_xxx.txt=<the file's content>.")
    for name, content in settings.mp_verify.items():
        if not MP_VERIFY_NAME_RE.fullmatch(name):
            r.add(BAD, f"WECHAT_MP_VERIFY file name {name!r} is not of the form MP_verify_<letters, digits>.txt.")
        elif not content:
            r.add(BAD, f"WECHAT_MP_VERIFY gives {name} no content: use {name}=<the file's content>.")
        else:
            r.add(OK, f"serves {settings.public_url}/{name} for the domain verification")


def _mp_server(r: _Report, settings: Settings) -> None:
    """The official account's message push and follow-login; format problems are already listed under Site."""
    r.section("Official account server (WECHAT_MP_TOKEN, WECHAT_MP_AES_KEY, WECHAT_MP_FOLLOW_LOGIN)")
    token, key, url = settings.wechat_mp_token, settings.wechat_mp_aes_key, settings.public_url + "/wechat/mp/events"
    if settings.wechat_mp is None or not token:
        r.add(NOTE, "not configured: WeChat's pushes (revoked authorizations, profile changes, follow-login scans) "
                    f"are not received and {url} answers 404")
        return
    r.add(OK, f"WECHAT_MP_TOKEN is set ({len(token)} characters): WeChat's pushes are received at {url}")
    if key:
        r.add(OK, "WECHAT_MP_AES_KEY is set: choose 安全模式 (safe mode) in the console; every push is encrypted and signed")
    else:
        r.add(WARN, "WECHAT_MP_AES_KEY is not set: plaintext mode, where a push's body carries no signature of its "
                    "own. Set it and choose 安全模式 (safe mode).")
    if not settings.wechat_mp_follow_login:
        r.add(NOTE, "follow-to-log-in is off (WECHAT_MP_FOLLOW_LOGIN=1 shows the official account's QR on /login)")
        return
    r.add(OK, "follow-to-log-in is on: it needs a verified service account (else qrcode/create answers 48001) and "
              "this server's IP in 基本配置 → IP白名单 (else stable_token answers 40164)")
    if settings.database_pool_mode == "transaction":
        r.add(WARN, "DATABASE_POOL_MODE=transaction: LISTEN does not work through PgBouncer's transaction pooling, "
                    "so login pages learn of a scan by polling every 2 s (see docs/wechat-events.md)")


def _endpoints(r: _Report, settings: Settings) -> None:
    """Flag WeChat endpoints that point somewhere other than WeChat (a simulator)."""
    r.section("WeChat endpoints")
    for name, value, default in (
        ("WECHAT_API_BASE", settings.wechat_api_base, DEFAULT_API_BASE),
        ("WECHAT_OPEN_BASE", settings.wechat_open_base, DEFAULT_OPEN_BASE),
        ("WECHAT_JS_URL", settings.wechat_js_url, DEFAULT_JS_URL),
    ):
        host = URL(value).host or ""
        if value == default or (URL(value).scheme == "https" and host.endswith(WECHAT_HOST_SUFFIXES)):
            r.add(OK, f"{name} is real WeChat ({value})")
        else:
            r.add(WARN, f"{name} is {value}: not real WeChat (the simulator?). Fine for development; "
                        f"production uses {default}.")


def _console_steps(r: _Report, settings: Settings, host: str | None) -> None:
    """The exact values to enter in WeChat's consoles for the configured apps."""
    r.section("What to enter in WeChat's consoles")
    if host is None:
        r.add(NOTE, "fix PUBLIC_URL first: the values below come from its host.")
        return
    web, mp = settings.wechat_web, settings.wechat_mp
    if web:
        r.add(NOTE, f"Open platform (open.weixin.qq.com) → 管理中心 → 网站应用 → {_shown_appid(web)} → "
                    "开发信息 → 授权回调域:")
        r.detail(host)
    if mp:
        r.add(NOTE, "Official account (mp.weixin.qq.com) → 设置与开发 → 账号设置 → 功能设置 → 网页授权域名 "
                    "(full host, no http://, no port; at most 2 domains):")
        r.detail(host)
        names = [n for n in settings.mp_verify if MP_VERIFY_NAME_RE.fullmatch(n)]
        example = names[0] if names else "MP_verify_xxx.txt"
        r.detail(f"download the {example} file offered there, set WECHAT_MP_VERIFY={example}=<its content>,")
        r.detail(f"and check {settings.public_url}/{example} shows it before you press save.")
    if mp and settings.wechat_mp_token:
        r.add(NOTE, "Official account → 设置与开发 → 基本配置 → 服务器配置 (one URL per account; port 80 or 443):")
        r.detail(f"URL {settings.public_url}/wechat/mp/events, Token = WECHAT_MP_TOKEN, EncodingAESKey = "
                 "WECHAT_MP_AES_KEY, 消息加解密方式 安全模式; press 提交 (WeChat checks the URL), then 启用.")
    if not (web or mp):
        r.add(NOTE, "nothing: no WeChat app is configured.")
        return
    r.add(NOTE, f"the site sends redirect_uri = {settings.callback_url} for every flow (nothing to enter for it).")
