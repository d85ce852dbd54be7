"""`webapp check-config --online` against the real simulator: which app or secret is wrong, said once."""

from __future__ import annotations

import pytest

from tests.test_configcheck import PRODUCTION, marked
from tests.wechat.harness import Sim, sim_server  # noqa: F401  (fixture)
from webapp.configcheck import report
from webapp.configcheck_online import probe
from webapp.settings import Settings
from webapp.wechat_sim import fixture as sim

OTHER_SECRET = "0123456789abcdef0123456789abcdef"
UNKNOWN_APPID = "wx00000000000000ff"


async def online(sim_server: Sim, **env: str) -> tuple[bool, str]:  # noqa: F811
    settings = Settings.from_env(PRODUCTION | {"WECHAT_API_BASE": sim_server.url, "WECHAT_OPEN_BASE": sim_server.url}
                                 | env)
    return report(settings, await probe(settings))


async def test_right_credentials_are_confirmed_by_wechat(sim_server: Sim) -> None:  # noqa: F811
    ok, text = await online(sim_server)
    assert ok, text
    assert "WeChat accepts WECHAT_WEB_APPID and WECHAT_WEB_SECRET" in text
    assert "WeChat accepts WECHAT_MP_APPID and WECHAT_MP_SECRET" in text
    assert sim.WEBSITE_SECRET not in text and sim.MP_SECRET not in text


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"WECHAT_WEB_SECRET": OTHER_SECRET}, "WeChat refuses WECHAT_WEB_SECRET"),
        ({"WECHAT_WEB_APPID": UNKNOWN_APPID}, "WeChat does not know WECHAT_WEB_APPID"),
        ({"WECHAT_MP_SECRET": OTHER_SECRET}, "WeChat refuses WECHAT_MP_SECRET"),
        ({"WECHAT_MP_APPID": UNKNOWN_APPID}, "WeChat does not know WECHAT_MP_APPID"),
    ],
)
async def test_the_wrong_app_or_secret_is_named_and_its_flow_is_not_claimed(
    sim_server: Sim, env: dict[str, str], says: str  # noqa: F811
) -> None:
    ok, text = await online(sim_server, **env)
    assert not ok
    [problem] = [line for line in marked(text, "✗") if "WeChat" in line]
    assert problem.startswith(says), text
    wrong = "QR login" if "WEB" in says else "login inside WeChat's browser"
    assert not any(line.startswith("serves " + wrong) for line in marked(text, "✓")), text
    right = "login inside WeChat's browser" if "WEB" in says else "QR login"
    assert any(line.startswith("serves " + right) for line in marked(text, "✓")), text
    assert OTHER_SECRET not in text


async def test_wechat_out_of_reach_is_a_warning_not_a_verdict() -> None:
    settings = Settings.from_env(PRODUCTION | {"WECHAT_API_BASE": "http://127.0.0.1:9"})
    ok, text = report(settings, await probe(settings))
    assert ok, text
    assert any(line.startswith("could not ask WeChat") for line in marked(text, "⚠")), text


def test_an_appid_of_the_wrong_shape_never_shows_its_flow_as_served() -> None:
    ok, text = report(Settings.from_env(PRODUCTION | {"WECHAT_WEB_APPID": "not-an-appid"}))
    assert not ok
    assert not any(line.startswith("serves QR login") for line in marked(text, "✓")), text
    assert "QR login on WeChat's page (redirect) and the QR embedded in /login (wxLogin.js) will not work" in text


async def test_the_mini_programs_credentials_are_asked_too(sim_server: Sim) -> None:  # noqa: F811
    ok, text = await online(sim_server, WECHAT_MINI_APPID=sim.MINI_APPID, WECHAT_MINI_SECRET=sim.MINI_SECRET)
    assert ok and "WeChat accepts WECHAT_MINI_APPID and WECHAT_MINI_SECRET" in text, text
    ok, text = await online(sim_server, WECHAT_MINI_APPID=sim.MINI_APPID, WECHAT_MINI_SECRET=OTHER_SECRET)
    assert not ok
    [problem] = [line for line in marked(text, "✗") if "WeChat" in line]
    assert problem.startswith("WeChat refuses WECHAT_MINI_SECRET"), text
    assert not any(line.startswith("serves the mini program") for line in marked(text, "✓")), text
