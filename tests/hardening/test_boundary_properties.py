"""Property tests over the WeChat boundary: any answer becomes a safe, storable value or a MalformedResponse.

Random payloads (unicode with surrogates and controls, huge and odd numbers, NaN, floats, bools, missing
and extra fields, wrong types) go through the constructors every login and refresh uses, then through the
real client against the simulator's `body` fault. A value that comes out satisfies the invariants and is
stored in PostgreSQL as it is; nothing else than the documented errors ever comes out. Seeds are fixed
(derandomize) so CI sees the same examples every run.
"""

from __future__ import annotations

import json
import math
import re
import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from yarl import URL

from tests.wechat.client_fixtures import SITE, SimRef, http, make_client, sim  # noqa: F401  (fixtures)
from webapp.wechat.client import ACCESS_TOKEN_PATH, USERINFO_PATH, WeChatClient
from webapp.wechat.errors import MalformedResponse, WeChatError
from webapp.wechat.schemas import MAX_TOKEN_LIFETIME, NICKNAME_MAX, OAuthToken, WeChatProfile

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
TOKEN_RE = re.compile(r"[\x21-\x7e]{1,512}")
SCOPES = {"snsapi_base", "snsapi_userinfo", "snsapi_login"}
FAST = settings(deadline=None,  # max_examples: the hypothesis profile's (tests/conftest.py)
                derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
THROUGH_HTTP = settings(FAST, max_examples=max(10, FAST.max_examples // 4),
                        suppress_health_check=[*FAST.suppress_health_check, HealthCheck.function_scoped_fixture])

# Any code point, lone surrogates and controls included, and the ones WeChat nicknames are known to carry.
anything = st.characters(exclude_categories=())
tricky = st.sampled_from(["\u0000", "\u202e", "\u2066", "\u200b", "\u200d", "\ufeff", "\ud800", "\udfff", "\n", "\x85",
                          "\u2028", "👨", "\u200d", "👩", "🌸", "张", "\u0301", " ", "\u3000"])
texts = st.text(st.one_of(anything, tricky), max_size=300) | st.text(tricky, min_size=90, max_size=2000)
numbers = st.one_of(st.integers(min_value=-(10**40), max_value=10**40), st.floats(allow_nan=True, allow_infinity=True),
                    st.booleans(), st.sampled_from([0, 1, 7200, 10**12, -1, "7200", "nan", "inf", "1e999", " 60 ", "٧٢"]))
scalars = st.one_of(st.none(), numbers, texts)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
                           max_leaves=6)
identifiers = st.from_regex(r"[A-Za-z0-9_-]{1,70}", fullmatch=True)  # mostly right; wrong ones come from `field`
tokens = st.from_regex(r"[\x21-\x7e]{1,520}", fullmatch=True) | st.from_regex(r"[\x20-\x7e]{1,40}", fullmatch=True)
urls = st.sampled_from(["https://thirdwx.qlogo.cn/mmopen/x/132", "http://wx.qlogo.cn/a", "javascript:alert(1)",
                        "https://user:pw@evil/x", "https:///nohost", "ftp://x/y", "//x/y", "",
                        "http://xn--zz.qlogo.cn/x/0", "http://xn--.qlogo.cn/0", "http://x:99999/0", "http://[::1/0",
                        "http://[zz]/0", "http://a..b/0", "https://%zz/0"]) | texts.map(lambda t: "https://x/" + t)
# Hosts as an attacker writes them: broken punycode labels, odd ports, brackets, percent signs.
hosts = st.from_regex(r"(xn--[a-z0-9-]{0,12}\.)?[a-z0-9%\[\]:.-]{0,20}(:[0-9]{0,6})?", fullmatch=True)
urls = urls | hosts.map(lambda h: f"http://{h}/mmopen/0") | hosts.map(lambda h: f"https://{h}.qlogo.cn/x/0")


MISSING = object()
TAGS = "".join(chr(c) for c in range(0xE0020, 0xE0080))


def field(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """A field's value: mostly plausible, sometimes anything at all (wrong types included), sometimes absent."""
    return st.one_of(*[values] * 6, json_values, st.just(MISSING))


def payloads(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    """Objects where every known field may be missing or wrong, and unknown ones may be added."""
    known = st.fixed_dictionaries({name: field(values) for name, values in fields.items()})
    extra = st.dictionaries(texts, json_values, max_size=2)
    return st.builds(lambda k, e: {**e, **{n: v for n, v in k.items() if v is not MISSING}}, known, extra)


short_tokens = st.from_regex(r"[\x21-\x7e]{1,120}", fullmatch=True)
lifetimes = st.integers(min_value=-(10**40), max_value=10**40) | st.floats(allow_nan=False) | st.just("7200")
# Answers with every required field right and the rest (types, sizes, extras) as odd as anywhere else.
plausible_tokens = st.builds(
    lambda required, optional, extra: {**extra, **optional, **required},
    st.fixed_dictionaries({"access_token": short_tokens, "refresh_token": short_tokens,
                           "openid": st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True), "expires_in": lifetimes}),
    st.fixed_dictionaries({}, optional={"unionid": st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True) | st.none(),
                                        "scope": texts | json_values, "is_snapshotuser": numbers}),
    st.dictionaries(texts, json_values, max_size=2),
)
token_payloads = plausible_tokens | payloads({
    "access_token": tokens, "refresh_token": tokens, "openid": identifiers, "unionid": identifiers,
    "scope": st.sampled_from(["snsapi_login", "snsapi_base,snsapi_userinfo", "snsapi_login," + "x" * 300]) | texts,
    "expires_in": numbers, "is_snapshotuser": numbers,
})
plausible_profiles = st.builds(
    lambda required, optional: {**optional, **required},
    st.fixed_dictionaries({"openid": st.just("o1")}),
    st.fixed_dictionaries({}, optional={"nickname": texts | json_values, "headimgurl": urls | json_values,
                                        "unionid": st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True)}),
)
profile_payloads = plausible_profiles | payloads({
    "openid": identifiers, "unionid": identifiers, "nickname": texts, "headimgurl": urls,
    "sex": numbers, "privilege": json_values,
})


def storable(value: str) -> None:
    """What PostgreSQL's text columns take: valid UTF-8 without NUL."""
    value.encode("utf-8")
    assert "\x00" not in value


def printable(nickname: str) -> bool:
    """No control, format or surrogate character, except a zero-width joiner building an emoji."""
    for index, ch in enumerate(nickname):
        if unicodedata.category(ch) in ("Cc", "Cs", "Zl", "Zp"):
            return False
        if unicodedata.category(ch) == "Cf":
            if "\U000e0020" <= ch <= "\U000e007f" and index and nickname[index - 1] in "\U0001f3f4" + TAGS:
                continue  # a subdivision flag's tags (webapp.text keeps them after a black flag)
            joins = ch == "\u200d" and 0 < index < len(nickname) - 1
            if not joins or unicodedata.category(nickname[index + 1]) != "So":
                return False
    return True


def check_token(token: OAuthToken, *, now: datetime = NOW) -> None:
    assert ID_RE.fullmatch(token.openid)
    assert token.unionid is None or ID_RE.fullmatch(token.unionid)
    assert TOKEN_RE.fullmatch(token.access_token) and TOKEN_RE.fullmatch(token.refresh_token)
    assert now <= token.access_expires_at <= now + MAX_TOKEN_LIFETIME
    assert token.scope == "" or set(token.scope.split(",")) <= SCOPES
    assert isinstance(token.is_snapshot_user, bool)
    for value in (token.openid, token.unionid or "", token.access_token, token.refresh_token, token.scope):
        storable(value)


def check_profile(profile: WeChatProfile) -> None:
    assert ID_RE.fullmatch(profile.openid)
    assert profile.unionid is None or ID_RE.fullmatch(profile.unionid)
    assert len(profile.nickname) <= NICKNAME_MAX and printable(profile.nickname)
    assert profile.nickname == profile.nickname.strip() and "  " not in profile.nickname
    if profile.avatar_url:
        url = URL(profile.avatar_url)
        assert url.scheme in ("http", "https") and url.host and url.user is None
        assert profile.avatar_url.isascii() and not any(ch.isspace() for ch in profile.avatar_url)
    for value in (profile.openid, profile.unionid or "", profile.nickname, profile.avatar_url):
        storable(value)


@FAST
@given(token_payloads)
def test_any_token_answer_is_a_safe_token_or_malformed(payload: dict[str, Any]) -> None:
    try:
        token = OAuthToken.from_payload(payload, now=NOW)
    except MalformedResponse:
        event("refused")
        return
    event("accepted")
    check_token(token)


@FAST
@given(profile_payloads)
def test_any_profile_answer_is_a_safe_profile_or_malformed(payload: dict[str, Any]) -> None:
    try:
        profile = WeChatProfile.from_payload(payload)
    except MalformedResponse:
        event("refused")
        return
    event("accepted")
    check_profile(profile)


@FAST
@given(st.one_of(numbers, json_values))
def test_any_lifetime_is_clamped_or_refused(expires_in: Any) -> None:
    payload = {"access_token": "AT", "refresh_token": "RT", "openid": "o1", "expires_in": expires_in}
    try:
        token = OAuthToken.from_payload(payload, now=NOW)
    except MalformedResponse:
        return
    seconds = (token.access_expires_at - NOW).total_seconds()
    assert 0 <= seconds <= MAX_TOKEN_LIFETIME.total_seconds() and not math.isnan(seconds)


def body_of(payload: dict[str, Any], *, ascii_escapes: bool) -> str:
    """The payload as WeChat would send it: escaped, or raw UTF-8 (then a lone surrogate is invalid bytes)."""
    return json.dumps(payload, ensure_ascii=ascii_escapes, allow_nan=True, default=str)


async def _through_the_client(
    wechat: SimRef, client: WeChatClient, sessionmaker: Any, path: str, payload: dict[str, Any], ascii_escapes: bool
) -> None:
    await wechat.fault(path, body=body_of(payload, ascii_escapes=ascii_escapes))
    try:
        if path == ACCESS_TOKEN_PATH:
            value: Any = await client.exchange_code(SITE, "CODE")
            check_token(value, now=wechat.now())
            columns = [value.openid, value.unionid, value.scope]
        else:
            value = await client.user_info("ACCESSTOKEN", payload.get("openid") if isinstance(payload.get("openid"), str) else "o1")
            check_profile(value)
            columns = [value.openid, value.unionid, value.nickname, value.avatar_url]
    except WeChatError as exc:
        event(f"refused: {type(exc).__name__}")
        return
    event("accepted")
    async with sessionmaker() as s:  # PostgreSQL takes it as it is
        stored = await s.scalar(text("SELECT ARRAY[:a, :b, :c, :d]::text[]"),
                                dict(zip("abcd", [*columns, None, None][:4], strict=True)))
        assert stored == [*columns, None, None][:4]


@THROUGH_HTTP
@given(token_payloads, st.booleans())
async def test_any_exchange_answer_through_the_real_client_is_a_storable_token_or_a_wechat_error(
    sim: SimRef, make_client: Any, sessionmaker: Any, payload: dict[str, Any], ascii_escapes: bool  # noqa: F811
) -> None:
    await _through_the_client(sim, make_client(), sessionmaker, ACCESS_TOKEN_PATH, payload, ascii_escapes)


@THROUGH_HTTP
@given(profile_payloads, st.booleans())
async def test_any_profile_answer_through_the_real_client_is_a_storable_profile_or_a_wechat_error(
    sim: SimRef, make_client: Any, sessionmaker: Any, payload: dict[str, Any], ascii_escapes: bool  # noqa: F811
) -> None:
    await _through_the_client(sim, make_client(), sessionmaker, USERINFO_PATH, payload, ascii_escapes)


def test_lifetimes_are_clamped_to_a_day() -> None:
    payload = {"access_token": "AT", "refresh_token": "RT", "openid": "o1"}
    assert OAuthToken.from_payload({**payload, "expires_in": 10**12}, now=NOW).access_expires_at == NOW + timedelta(days=1)
    assert OAuthToken.from_payload({**payload, "expires_in": -7200}, now=NOW).access_expires_at == NOW
