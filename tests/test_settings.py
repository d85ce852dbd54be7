"""Settings from the environment, and every message that tells an operator what to fix."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet

from webapp.settings import ConfigError, Settings

GOOD_ENV = {
    "SECRET_KEY": "s" * 48,
    "TOKEN_KEYS": Fernet.generate_key().decode(),
    "PUBLIC_URL": "https://www.example.com/",
    "DATABASE_URL": "postgresql://u:p@db/app",
}


def test_from_env_reads_every_variable() -> None:
    key2 = Fernet.generate_key().decode()
    env = {
        **GOOD_ENV,
        "TOKEN_KEYS": f" {GOOD_ENV['TOKEN_KEYS']} , {key2} ",
        "WECHAT_WEB_APPID": "wxweb",
        "WECHAT_WEB_SECRET": "websecret",
        "WECHAT_MP_APPID": "wxmp",
        "WECHAT_MP_SECRET": "mpsecret",
        "WECHAT_OPEN_BASE": "http://127.0.0.1:8081/",
        "WECHAT_API_BASE": "http://127.0.0.1:8081",
        "WECHAT_JS_URL": "http://127.0.0.1:8081/wxLogin.js",
    }
    settings = Settings.from_env(env)
    assert settings.secret_key == "s" * 48
    assert settings.token_keys == (GOOD_ENV["TOKEN_KEYS"], key2)
    assert settings.public_url == "https://www.example.com"
    assert settings.callback_url == "https://www.example.com/auth/wechat/callback"
    assert settings.secure_cookies is True
    assert settings.async_database_url == "postgresql+asyncpg://u:p@db/app"
    assert settings.wechat_web is not None and settings.wechat_web.appid == "wxweb"
    assert settings.wechat_mp is not None and settings.wechat_mp.secret == "mpsecret"
    assert settings.wechat_open_base == "http://127.0.0.1:8081"
    assert settings.problems() == []
    assert "websecret" not in repr(settings) and "s" * 48 not in repr(settings)


def test_defaults_when_unset() -> None:
    settings = Settings.from_env({})
    assert settings.database_url is None
    assert settings.public_url == "http://localhost:8080"
    assert settings.secure_cookies is False
    assert settings.wechat_web is None and settings.wechat_mp is None
    assert settings.max_body_bytes == 64 * 1024


def problems(**changes: str) -> list[str]:
    return Settings.from_env({**GOOD_ENV, **changes}).problems()


def test_missing_secret_key_says_how_to_make_one() -> None:
    (problem,) = problems(SECRET_KEY="")
    assert problem.startswith("SECRET_KEY is not set") and "secrets.token_urlsafe" in problem


def test_short_secret_key() -> None:
    assert problems(SECRET_KEY="short") == ["SECRET_KEY is too short: use at least 32 random characters."]


def test_missing_token_keys() -> None:
    (problem,) = problems(TOKEN_KEYS="")
    assert problem.startswith("TOKEN_KEYS is not set") and "Fernet.generate_key()" in problem


@pytest.mark.parametrize("bad", ["not-a-key", "a" * 44, "!!!!"])
def test_unparsable_token_key_is_named_by_position(bad: str) -> None:
    (problem,) = problems(TOKEN_KEYS=f"{GOOD_ENV['TOKEN_KEYS']},{bad}")
    assert problem.startswith("TOKEN_KEYS key #2 is not a Fernet key")


@pytest.mark.parametrize(
    ("url", "start"),
    [
        ("https://www.example.com/app", "PUBLIC_URL 'https://www.example.com/app' must be the site's base URL"),
        ("https://www.example.com/?x=1", "PUBLIC_URL 'https://www.example.com/?x=1' must be the site's base URL"),
        ("ftp://www.example.com", "PUBLIC_URL 'ftp://www.example.com' must be an absolute http(s) URL"),
        ("www.example.com", "PUBLIC_URL 'www.example.com' must be an absolute http(s) URL"),
        ("https://", "PUBLIC_URL 'https:' must be an absolute http(s) URL"),
    ],
)
def test_malformed_public_url(url: str, start: str) -> None:
    (problem,) = problems(PUBLIC_URL=url)
    assert problem.startswith(start)


def test_non_postgres_database_url() -> None:
    (problem,) = problems(DATABASE_URL="mysql://u@db/app")
    assert problem.startswith("DATABASE_URL must start with postgresql://") and "'mysql'" in problem


def test_validate_lists_every_problem_at_once() -> None:
    with pytest.raises(ConfigError) as raised:
        Settings.from_env({"PUBLIC_URL": "https://x.example/path", "TOKEN_KEYS": "nope"}).validate()
    assert len(raised.value.problems) == 3
    assert str(raised.value) == "\n".join(raised.value.problems)


def test_cli_reads_dot_env(tmp_path, monkeypatch, capsys) -> None:  # type: ignore[no-untyped-def]
    from webapp import cli

    for name in ("SECRET_KEY", "TOKEN_KEYS", "PUBLIC_URL", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".env").write_text("SECRET_KEY=short\n")
    monkeypatch.chdir(tmp_path)
    assert cli.main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "SECRET_KEY is too short" in err and "TOKEN_KEYS is not set" in err
