"""`webapp check-config` on the official account's server side: push URL, modes, follow-login, no secret shown."""

from __future__ import annotations

from tests.test_configcheck import PRODUCTION, check, marked

TOKEN = "pushToken2026abc"
AES_KEY = "k3F9vQ2wLm8ZpR4tYx7Bn1Cd6Gh0Js5Ke2Uf8Wa4Mq0"


def test_not_configured_says_what_is_not_received() -> None:
    ok, text = check()
    assert ok
    assert any("not received" in line and "/wechat/mp/events answers 404" in line for line in marked(text, "·"))


def test_safe_mode_and_follow_login_pass_and_name_the_console_values() -> None:
    ok, text = check(WECHAT_MP_TOKEN=TOKEN, WECHAT_MP_AES_KEY=AES_KEY, WECHAT_MP_FOLLOW_LOGIN="1")
    assert ok, text
    good = marked(text, "✓")
    assert any("https://www.example.com/wechat/mp/events" in line for line in good)
    assert any("安全模式" in line for line in good) and any("40164" in line for line in good)
    assert "URL https://www.example.com/wechat/mp/events, Token = WECHAT_MP_TOKEN" in text
    assert TOKEN not in text and AES_KEY not in text


def test_plaintext_mode_and_pgbouncer_are_warnings() -> None:
    ok, text = check(WECHAT_MP_TOKEN=TOKEN, WECHAT_MP_FOLLOW_LOGIN="1", DATABASE_POOL_MODE="transaction")
    assert ok
    warnings = marked(text, "⚠")
    assert any("plaintext mode" in line for line in warnings)
    assert any("LISTEN does not work" in line for line in warnings)


def test_a_malformed_key_and_follow_login_without_a_token_are_problems() -> None:
    ok, text = check(WECHAT_MP_TOKEN=TOKEN, WECHAT_MP_AES_KEY="short")
    assert not ok and any("WECHAT_MP_AES_KEY must be exactly 43" in line for line in marked(text, "✗"))
    ok, text = check(WECHAT_MP_FOLLOW_LOGIN="1")
    assert not ok and any("WECHAT_MP_FOLLOW_LOGIN needs" in line for line in marked(text, "✗"))
    assert PRODUCTION["WECHAT_MP_SECRET"] not in text
