"""The authorize URLs: exact parameter order, encoding, fragment and state rules."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from webapp.wechat.schemas import WeChatApp
from webapp.wechat.urls import _quoted, oauth2_authorize_url, qrconnect_url

SITE = WeChatApp(appid="wxsite0000000001", secret="site-secret", kind="website")
MP = WeChatApp(appid="wxmp00000000000001", secret="mp-secret", kind="official_account")
OPEN = "https://open.weixin.qq.com"
CALLBACK = "https://example.com/auth/wechat/callback?next=/a b&x=1#frag"
ENCODED_CALLBACK = "https%3A%2F%2Fexample.com%2Fauth%2Fwechat%2Fcallback%3Fnext%3D%2Fa%20b%26x%3D1%23frag"


def test_qrconnect_url_is_exact() -> None:
    url = qrconnect_url(OPEN, SITE, redirect_uri=CALLBACK, state="Abc123")
    assert url == (
        "https://open.weixin.qq.com/connect/qrconnect?appid=wxsite0000000001"
        f"&redirect_uri={ENCODED_CALLBACK}&response_type=code&scope=snsapi_login&state=Abc123#wechat_redirect"
    )


def test_qrconnect_url_appends_lang_after_state() -> None:
    url = qrconnect_url(OPEN, SITE, redirect_uri=CALLBACK, state="s", lang="en")
    assert url.endswith("&state=s&lang=en#wechat_redirect")


@pytest.mark.parametrize("scope", ["snsapi_base", "snsapi_userinfo"])
def test_oauth2_authorize_url_keeps_wechat_order(scope: str) -> None:
    url = oauth2_authorize_url(OPEN, MP, redirect_uri=CALLBACK, scope=scope, state="xyz")  # type: ignore[arg-type]
    assert url == (
        "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wxmp00000000000001"
        f"&redirect_uri={ENCODED_CALLBACK}&response_type=code&scope={scope}&state=xyz"
        "&connect_redirect=1#wechat_redirect"
    )


def test_redirect_uri_round_trips_through_the_query() -> None:
    url = oauth2_authorize_url(OPEN, MP, redirect_uri=CALLBACK, scope="snsapi_base", state="s")
    parts = urlsplit(url)
    assert parts.fragment == "wechat_redirect"
    assert [k for k, _ in parse_qsl(parts.query)] == [
        "appid", "redirect_uri", "response_type", "scope", "state", "connect_redirect",
    ]
    assert dict(parse_qsl(parts.query))["redirect_uri"] == CALLBACK


def test_redirect_uri_is_fully_percent_encoded() -> None:
    url = qrconnect_url(OPEN, SITE, redirect_uri="https://ex.com/cb?a=1&b=2", state="s")
    query = urlsplit(url).query
    raw_redirect = query.split("&")[1]
    assert raw_redirect == "redirect_uri=https%3A%2F%2Fex.com%2Fcb%3Fa%3D1%26b%3D2"


@pytest.mark.parametrize(
    ("open_base", "prefix"),
    [
        ("https://open.weixin.qq.com/", "https://open.weixin.qq.com/connect/"),
        ("http://127.0.0.1:8081/sim", "http://127.0.0.1:8081/sim/connect/"),
        ("http://127.0.0.1:8081/sim/", "http://127.0.0.1:8081/sim/connect/"),
    ],
)
def test_open_base_may_have_trailing_slash_or_path(open_base: str, prefix: str) -> None:
    assert qrconnect_url(open_base, SITE, redirect_uri=CALLBACK, state="s").startswith(prefix + "qrconnect?")
    assert oauth2_authorize_url(open_base, MP, redirect_uri=CALLBACK, scope="snsapi_base", state="s").startswith(
        prefix + "oauth2/authorize?"
    )


@pytest.mark.parametrize("state", ["a", "Z9", "x" * 128, "0123456789abcdefABCDEF"])
def test_valid_states_are_accepted(state: str) -> None:
    assert f"&state={state}&" in oauth2_authorize_url(OPEN, MP, redirect_uri=CALLBACK, scope="snsapi_base", state=state)


@pytest.mark.parametrize(
    "state",
    ["", "x" * 129, "has space", "dash-ed", "under_score", "a+b", "é", "٣", "abc\n", "a#wechat_redirect", "a&b=c"],
)
def test_invalid_states_are_refused(state: str) -> None:
    with pytest.raises(ValueError, match="state"):
        oauth2_authorize_url(OPEN, MP, redirect_uri=CALLBACK, scope="snsapi_base", state=state)
    with pytest.raises(ValueError, match="state"):
        qrconnect_url(OPEN, SITE, redirect_uri=CALLBACK, state=state)


def test_wrong_app_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="website"):
        qrconnect_url(OPEN, MP, redirect_uri=CALLBACK, state="s")
    with pytest.raises(ValueError, match="official_account"):
        oauth2_authorize_url(OPEN, SITE, redirect_uri=CALLBACK, scope="snsapi_base", state="s")


def test_unknown_scope_is_refused() -> None:
    with pytest.raises(ValueError, match="scope"):
        oauth2_authorize_url(OPEN, MP, redirect_uri=CALLBACK, scope="snsapi_login", state="s")  # type: ignore[arg-type]


@pytest.mark.parametrize("redirect_uri", ["", "/relative/callback", "javascript:alert(1)"])
def test_relative_redirect_uri_is_refused(redirect_uri: str) -> None:
    with pytest.raises(ValueError, match="redirect_uri"):
        qrconnect_url(OPEN, SITE, redirect_uri=redirect_uri, state="s")


def test_urls_never_contain_the_secret() -> None:
    assert "secret" not in qrconnect_url(OPEN, SITE, redirect_uri=CALLBACK, state="s")
    assert "secret" not in oauth2_authorize_url(OPEN, MP, redirect_uri=CALLBACK, scope="snsapi_base", state="s")


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=80))
def test_the_quoting_shortcut_is_quote_itself(value: str) -> None:
    """Unreserved values skip quote() and configured ones are cached: either way the text is quote()'s."""
    assert _quoted(value) == quote(value, safe="")
