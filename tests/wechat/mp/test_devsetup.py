"""`webapp dev` wires the official account: Token, EncodingAESKey, safe mode, follow-login, and the
simulator's push URL pointing at the site — checked by letting that simulator push to that site."""

from __future__ import annotations

import socket
from pathlib import Path

import aiohttp
import pytest

from webapp.app import create_app
from webapp.devserver import dev_settings
from webapp.settings import Settings
from webapp.wechat.mp.devsetup import banner_lines, simulator_push_env
from webapp.wechat.mp.runtime import follow_login_enabled
from webapp.wechat_sim import fixture as sim_fixture
from webapp.wechat_sim.app import create_simulator_app
from webapp.wechat_sim.state import SimulatorState


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def dev(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.chdir(tmp_path)  # dev keeps its generated secrets in ./var
    return dev_settings(
        {"DATABASE_URL": "postgresql://unused/db"}, site_port=_free_port(), sim_host="127.0.0.1", sim_port=8081
    )


def test_dev_turns_on_message_push_in_safe_mode_and_follow_login(dev: Settings, tmp_path: Path) -> None:
    assert len(dev.wechat_mp_token) == 32 and len(dev.wechat_mp_aes_key) == 43
    assert follow_login_enabled(dev)
    assert not [p for p in dev.problems() if "WECHAT_MP" in p]
    again = dev_settings(
        {"DATABASE_URL": "postgresql://unused/db"}, site_port=8080, sim_host="127.0.0.1", sim_port=8081
    )
    assert (again.wechat_mp_token, again.wechat_mp_aes_key) == (dev.wechat_mp_token, dev.wechat_mp_aes_key)  # kept
    assert (tmp_path / "var" / "mp_aes_key").stat().st_mode & 0o077 == 0


def test_the_environment_still_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    env = {"DATABASE_URL": "postgresql://unused/db", "WECHAT_MP_FOLLOW_LOGIN": "0", "WECHAT_MP_AES_KEY": ""}
    settings = dev_settings(env, site_port=8080, sim_host="127.0.0.1", sim_port=8081)
    assert not settings.wechat_mp_follow_login and settings.wechat_mp_aes_key == ""
    assert simulator_push_env(settings, {})["WECHAT_SIM_PUSH_MODE"] == "plaintext"
    assert simulator_push_env(settings, {"WECHAT_SIM_PUSH_URL": "http://x/y"}) == {"WECHAT_SIM_PUSH_URL": "http://x/y"}


async def test_the_dev_simulator_pushes_to_the_dev_site(dev: Settings, aiohttp_server, sessionmaker) -> None:  # type: ignore[no-untyped-def]
    port = int(dev.public_url.rsplit(":", 1)[1])
    state = SimulatorState.from_env(simulator_push_env(dev, {}))
    config = state.push_configs[sim_fixture.MP_APPID]
    assert (config.url, config.mode) == (f"{dev.public_url}/wechat/mp/events", "safe")
    sim = await aiohttp_server(create_simulator_app(state))
    site_settings = dev.with_(database_url=None, run_worker=False, wechat_api_base=str(sim.make_url("")).rstrip("/"))
    await aiohttp_server(create_app(site_settings, sessionmaker=sessionmaker), host="localhost", port=port)
    async with (
        aiohttp.ClientSession() as http,
        http.post(sim.make_url("/_sim/api/mp/follow"), json={"user": 1}) as resp,
    ):
        delivery = (await resp.json())["delivery"]
    assert delivery["status"] == "delivered", delivery
    assert [a["reply"] for a in delivery["attempts"]] == ["success"]


def test_the_banner_says_how_to_try_it(dev: Settings) -> None:
    text = "\n".join(banner_lines(dev, site="http://localhost:8080", sim="http://127.0.0.1:8081"))
    assert "/wechat/mp/events" in text and "mp/qrcodes" in text and "docs/wechat-events.md" in text
