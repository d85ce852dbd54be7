"""`webapp dev`: embedded PostgreSQL, migrations, the simulator, the site and the worker in one process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.fernet import Fernet

from webapp import eventloop
from webapp.settings import Settings, WeChatAppConfig

if TYPE_CHECKING:
    from webapp.wechat_sim.state import SimulatorState

VAR_DIR = Path("var")
NO_PGSERVER = (
    "The embedded PostgreSQL (pgserver) is not installed. In a checkout, `uv sync` installs it (the dev group);\n"
    "elsewhere install the extra: pip install 'webapp[embedded-db]'. Or point DATABASE_URL at a PostgreSQL."
)


def embedded_database_url() -> str:
    """Start (or reuse) the embedded PostgreSQL under ./var/pgdata and return its URL."""
    runtime = (VAR_DIR / "run").resolve()  # pgserver (platformdirs) wants a private runtime dir
    runtime.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ.setdefault("XDG_RUNTIME_DIR", str(runtime))
    try:
        import pgserver
    except ImportError:
        raise SystemExit(NO_PGSERVER) from None

    data_dir = (VAR_DIR / "pgdata").resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(data_dir, cleanup_mode="stop")  # type: ignore[attr-defined]  # re-exported, untyped
    return server.get_uri()


def _kept_secret(name: str, make: Callable[[], str]) -> str:
    """A secret generated once and kept in ./var so restarts keep sessions and tokens readable."""
    path = VAR_DIR / name
    if not path.exists():
        VAR_DIR.mkdir(exist_ok=True)
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def dev_settings(env: dict[str, str], *, site_port: int, sim_host: str, sim_port: int) -> Settings:
    """Settings for dev: generated secrets, and WeChat pointed at the local simulator unless configured."""
    from webapp.wechat.mp import devsetup as mp_devsetup
    from webapp.wechat_sim import fixture

    sim = f"http://127.0.0.1:{sim_port}"
    env = dict(env)
    env.setdefault("SECRET_KEY", _kept_secret("secret_key", lambda: secrets.token_urlsafe(48)))
    env.setdefault("TOKEN_KEYS", _kept_secret("token_key", lambda: Fernet.generate_key().decode()))
    env.setdefault("PUBLIC_URL", f"http://localhost:{site_port}")
    env.setdefault("WECHAT_OPEN_BASE", sim)
    env.setdefault("WECHAT_API_BASE", sim)
    env.setdefault("WECHAT_JS_URL", f"{sim}/connect/zh_CN/htmledition/js/wxLogin.js")
    for name, value in mp_devsetup.dev_env(_kept_secret).items():  # message push (safe mode) and follow-login
        env.setdefault(name, value)
    settings = Settings.from_env(env, dev=True)
    if settings.wechat_web is None:
        settings = settings.with_(wechat_web=WeChatAppConfig(fixture.WEBSITE_APPID, fixture.WEBSITE_SECRET))
    if settings.wechat_mp is None:
        settings = settings.with_(wechat_mp=WeChatAppConfig(fixture.MP_APPID, fixture.MP_SECRET))
    if settings.wechat_mini is None:
        settings = settings.with_(wechat_mini=WeChatAppConfig(fixture.MINI_APPID, fixture.MINI_SECRET))
    if not settings.database_url:
        settings = settings.with_(database_url=embedded_database_url())
    return settings


def run_dev(*, site_port: int, sim_host: str, sim_port: int) -> int:
    """Start everything, print where it is, stop cleanly on Ctrl-C."""
    from webapp.migrations import upgrade_head

    print("Starting the embedded PostgreSQL (data in ./var/pgdata) ..." if not os.environ.get("DATABASE_URL") else "Using DATABASE_URL")
    settings = dev_settings(dict(os.environ), site_port=site_port, sim_host=sim_host, sim_port=sim_port)
    upgrade_head(settings.database_url or "")
    print("Database migrated to the latest schema.")
    with contextlib.suppress(KeyboardInterrupt):
        eventloop.run(_serve(settings, site_port=site_port, sim_host=sim_host, sim_port=sim_port), loop=settings.event_loop)
    print("Stopped.")
    return 0


async def _serve(settings: Settings, *, site_port: int, sim_host: str, sim_port: int) -> None:
    from aiohttp import web

    from webapp.accesslog import MaskedAccessLogger
    from webapp.accesslog import logger as access_logger
    from webapp.app import create_app
    from webapp.wechat.mp import devsetup as mp_devsetup
    from webapp.wechat_sim.serve import start_simulator
    from webapp.wechat_sim.state import SimulatorState

    sim_state = SimulatorState.from_env(mp_devsetup.simulator_push_env(settings, os.environ))
    site = web.AppRunner(create_app(settings), access_log_class=MaskedAccessLogger, access_log=access_logger)
    runners = [await start_simulator(sim_state, sim_host, sim_port), site]
    await site.setup()
    await web.TCPSite(site, "localhost", site_port).start()
    _print_banner(settings, sim_state, site_port=site_port, sim_host=sim_host, sim_port=sim_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        for runner in reversed(runners):
            await runner.cleanup()


def _print_banner(settings: Settings, sim_state: SimulatorState, *, site_port: int, sim_host: str, sim_port: int) -> None:
    from webapp.wechat.mp import devsetup as mp_devsetup

    sim = f"http://127.0.0.1:{sim_port}"
    lines = [
        "",
        f"  Site:            http://localhost:{site_port}/",
        f"  WeChat simulator: {sim}/   (apps, secrets, test users, how to try each flow)",
        f"  Database:        {'embedded PostgreSQL in ./var/pgdata' if 'host=' in (settings.database_url or '') else 'DATABASE_URL'}",
        "",
        "  Try it:",
        f"  - QR login: open http://localhost:{site_port}/login and confirm the embedded QR (or click",
        "    'Open WeChat's QR page'): open the QR's phone page in a second tab, pick a test user, Scan (扫一扫), Allow (允许).",
        "    (To scan with a real phone on your network: run with --sim-host 0.0.0.0.)",
        f"  - In-WeChat login from this browser: http://localhost:{site_port}/_dev/wechat-browser?next=/auth/wechat/start",
        "    (development only: the site then treats this browser as WeChat's; the simulator asks which test",
        "    user you are; the yellow banner switches back)",
        *mp_devsetup.banner_lines(settings, site=f"http://localhost:{site_port}", sim=sim),
        f"  - Mini program: {sim}/_sim/mini gives a wx.login or phone code; POST it to",
        f"    http://localhost:{site_port}/api/wechat/mini/login (README: WeChat mini program)",
        "",
        "  Test users:",
    ]
    for user in sim_state.fixture.users:
        lines.append(f"    #{user.id} {user.nickname}")
    lines.append("\n  Ctrl-C stops everything.\n")
    print("\n".join(lines), flush=True)
