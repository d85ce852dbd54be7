"""`webapp check-config`: each problem, the WeChat checks, the console instructions, and no secret shown."""

from __future__ import annotations

from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from webapp.cli import main
from webapp.configcheck import report
from webapp.settings import Settings
from webapp.wechat_sim import fixture as sim

TOKEN_KEY = Fernet.generate_key().decode()
PRODUCTION = {
    "SECRET_KEY": "s3cr3t-" + "k" * 40,
    "TOKEN_KEYS": TOKEN_KEY,
    "PUBLIC_URL": "https://www.example.com",
    "DATABASE_URL": "postgresql://webapp:db-password-42@db.internal:5432/webapp",
    "WECHAT_WEB_APPID": sim.WEBSITE_APPID,
    "WECHAT_WEB_SECRET": sim.WEBSITE_SECRET,
    "WECHAT_MP_APPID": sim.MP_APPID,
    "WECHAT_MP_SECRET": sim.MP_SECRET,
    "WECHAT_MP_VERIFY": "MP_verify_Ab12Cd34.txt=Ab12Cd34",
}
SECRETS = (PRODUCTION["SECRET_KEY"], TOKEN_KEY, "db-password-42", sim.WEBSITE_SECRET, sim.MP_SECRET)


def check(**env: str | None) -> tuple[bool, str]:
    """report() for the production environment with some variables changed (None removes one)."""
    values = {k: v for k, v in (PRODUCTION | env).items() if v is not None}
    return report(Settings.from_env(values))


def marked(text: str, mark: str) -> list[str]:
    """The report's lines carrying `mark` (✓, ✗ or ⚠), without the mark."""
    return [line.strip()[2:] for line in text.splitlines() if line.strip().startswith(mark)]


def test_a_complete_production_configuration_passes_and_shows_no_secret() -> None:
    ok, text = check()
    assert ok, text
    assert marked(text, "✗") == [] and marked(text, "⚠") == []
    for secret in SECRETS:
        assert secret not in text
    assert "WECHAT_WEB_SECRET is set (…" + sim.WEBSITE_SECRET[-4:] + ")" in text


def test_the_console_instructions_give_the_exact_values() -> None:
    _, text = check()
    lines = text.splitlines()
    callback_domain = lines[next(i for i, line in enumerate(lines) if "授权回调域" in line) + 1]
    assert callback_domain.strip() == "www.example.com"
    assert sim.WEBSITE_APPID in lines[next(i for i, line in enumerate(lines) if "授权回调域" in line)]
    oa_domain = lines[next(i for i, line in enumerate(lines) if "网页授权域名" in line) + 1]
    assert oa_domain.strip() == "www.example.com"
    assert "WECHAT_MP_VERIFY=MP_verify_Ab12Cd34.txt=<its content>" in text
    assert "https://www.example.com/MP_verify_Ab12Cd34.txt" in text
    assert "redirect_uri = https://www.example.com/auth/wechat/callback" in text


def test_every_settings_problem_is_reported() -> None:
    settings = Settings.from_env({"PUBLIC_URL": "https://www.example.com/app", "TOKEN_KEYS": "not-a-key"})
    ok, text = report(settings)
    assert not ok
    assert len(settings.problems()) == 3
    for problem in settings.problems():
        assert f"✗ {problem}" in text
    assert any(line.startswith("DATABASE_URL is not set") for line in marked(text, "✗"))
    assert "fix PUBLIC_URL first" in text


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"WECHAT_WEB_APPID": "wx5F3A9C1E7B2D4068"}, "WECHAT_WEB_APPID does not look like an AppID"),
        ({"WECHAT_MP_APPID": "gh_1234567890ab"}, "WECHAT_MP_APPID does not look like an AppID"),
        ({"WECHAT_WEB_SECRET": "9b1e4c7a2f5d8e0b3a6c9f1d4e7b0a2"}, "WECHAT_WEB_SECRET is not 32 hex digits"),
        ({"WECHAT_MP_SECRET": None}, "WECHAT_MP_SECRET is not set"),
        ({"WECHAT_WEB_APPID": None}, "WECHAT_WEB_APPID is not set but WECHAT_WEB_SECRET is"),
        ({"WECHAT_MP_APPID": sim.WEBSITE_APPID}, "WECHAT_WEB_APPID and WECHAT_MP_APPID are the same"),
        ({"PUBLIC_URL": "https://www.example.com:8443"}, "PUBLIC_URL has port 8443"),
        ({"PUBLIC_URL": "http://www.example.com"}, "PUBLIC_URL is not https"),
        ({"WECHAT_MP_VERIFY": "verify.txt=abc"}, "WECHAT_MP_VERIFY file name 'verify.txt' is not of the form"),
        ({"WECHAT_MP_VERIFY": "MP_verify_abc.txt="}, "WECHAT_MP_VERIFY gives MP_verify_abc.txt no content"),
    ],
)
def test_each_wechat_problem_fails_the_check(env: dict[str, str | None], expected: str) -> None:
    ok, text = check(**env)
    assert not ok
    assert [line for line in marked(text, "✗") if line.startswith(expected)], text


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"PUBLIC_URL": "http://localhost:8080"}, "localhost is not a domain WeChat's consoles accept"),
        ({"PUBLIC_URL": "https://192.168.1.20"}, "192.168.1.20 is not a domain WeChat's consoles accept"),
        ({"WECHAT_API_BASE": "http://127.0.0.1:8081"}, "WECHAT_API_BASE is http://127.0.0.1:8081: not real WeChat"),
        ({"WECHAT_OPEN_BASE": "http://127.0.0.1:8081"}, "WECHAT_OPEN_BASE is http://127.0.0.1:8081: not real WeChat"),
        ({"WECHAT_MP_VERIFY": None}, "WECHAT_MP_VERIFY is not set"),
    ],
)
def test_development_setups_are_warnings_not_failures(env: dict[str, str], expected: str) -> None:
    ok, text = check(**env)
    assert ok, text
    assert [line for line in marked(text, "⚠") if line.startswith(expected)], text


def test_local_http_with_a_port_only_warns() -> None:
    ok, text = check(PUBLIC_URL="http://localhost:8080")
    assert ok
    assert any("port 8080" in line for line in marked(text, "⚠"))
    assert any("not https" in line for line in marked(text, "⚠"))


def test_an_unconfigured_app_hides_its_flow() -> None:
    ok, text = check(WECHAT_MP_APPID=None, WECHAT_MP_SECRET=None, WECHAT_MP_VERIFY=None)
    assert ok
    assert "login inside WeChat's browser (snsapi_base, then snsapi_userinfo once) is hidden" in text
    assert "网页授权域名" not in text and "授权回调域" in text
    _, neither = check(WECHAT_WEB_APPID=None, WECHAT_WEB_SECRET=None, WECHAT_MP_APPID=None, WECHAT_MP_SECRET=None)
    assert any(line.startswith("no WeChat app is configured") for line in marked(neither, "⚠"))


def test_malformed_secrets_are_not_echoed() -> None:
    pasted = "this-is-the-secret-pasted-in-the-wrong-place"
    _, text = check(WECHAT_WEB_APPID=pasted, WECHAT_MP_SECRET=pasted)
    assert pasted not in text
    assert pasted[-5:] not in text  # at most the last 4 characters


def test_check_config_command_exits_1_on_problems_and_0_when_ready(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no stray .env
    for name in PRODUCTION:
        monkeypatch.delenv(name, raising=False)
    assert main(["check-config"]) == 1
    assert "✗ SECRET_KEY is not set" in capsys.readouterr().out
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    assert main(["check-config"]) == 0
    out = capsys.readouterr().out
    assert "✓ no problems" in out
    for secret in SECRETS:
        assert secret not in out


def test_the_mini_program_is_checked_like_the_other_apps() -> None:
    ok, text = check()
    assert ok and "the mini program's API (/api/wechat/mini/login and /phone, bearer tokens) is hidden" in text
    bad, text = check(WECHAT_MINI_APPID="wx3d8a6f1c9e2b5047")
    assert not bad and "WECHAT_MINI_SECRET is not set" in text
    ok, text = check(WECHAT_MINI_APPID="wx3d8a6f1c9e2b5047", WECHAT_MINI_SECRET="7c2e9a4f1b6d3e8a5c0f7b2d9e4a1c63")
    assert ok and "WECHAT_MINI_SECRET is set" in text
