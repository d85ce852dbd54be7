"""Languages: negotiation, the remembered choice, and a complete Simplified Chinese catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from webapp.i18n import LOCALE_DIR, catalogue_files, negotiate
from webapp.settings import REPO_ROOT

PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


@pytest.mark.parametrize(
    ("header", "locale"),
    [
        ("", "zh_CN"),
        ("zh-CN,zh;q=0.9", "zh_CN"),
        ("zh", "zh_CN"),
        ("zh-TW", "zh_CN"),
        ("zh-Hant-HK", "zh_CN"),
        ("en", "en"),
        ("en-US,en;q=0.9", "en"),
        ("en-GB", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "en"),
        ("fr-FR,de;q=0.8", "zh_CN"),
        ("en;q=0.3,zh-CN;q=0.8", "zh_CN"),
        ("zh;q=0.1,en;q=0.2", "en"),
        ("*", "zh_CN"),
        ("en;q=bogus,zh", "zh_CN"),
        ("garbage;;;,,,", "zh_CN"),
        ("x" * 5000, "zh_CN"),
    ],
)
def test_accept_language_negotiation(header: str, locale: str) -> None:
    assert negotiate(header) == locale


async def test_page_language_follows_accept_language(client: TestClient) -> None:
    english = await (await client.get("/login", headers={"Accept-Language": "en"})).text()
    chinese = await (await client.get("/login", headers={"Accept-Language": "zh-CN"})).text()
    assert '<html lang="en">' in english and "<title>Log in" in english
    assert '<html lang="zh-CN">' in chinese and "<title>登录" in chinese


async def test_language_choice_is_remembered_over_accept_language(client: TestClient) -> None:
    response = await client.get("/lang/en", params={"next": "/signup?next=/settings"}, allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (302, "/signup?next=/settings")
    cookie = response.cookies["lang"]
    assert cookie.value == "en" and cookie["httponly"] and cookie["samesite"] == "Lax"
    body = await (await client.get("/", headers={"Accept-Language": "zh-CN"})).text()
    assert '<html lang="en">' in body
    await client.get("/lang/zh_CN")
    assert '<html lang="zh-CN">' in await (await client.get("/", headers={"Accept-Language": "en"})).text()


async def test_language_switch_refuses_unknown_locales_and_foreign_next(client: TestClient) -> None:
    assert (await client.get("/lang/fr")).status == 404
    response = await client.get("/lang/en", params={"next": "//evil.com"}, allow_redirects=False)
    assert response.headers["Location"] == "/"


async def test_every_page_links_both_languages_back_to_itself(client: TestClient) -> None:
    body = await (await client.get("/signup", params={"next": "/settings"})).text()
    assert 'href="/lang/zh_CN?next=/signup%3Fnext%3D/settings"' in body
    assert 'href="/lang/en?next=/signup%3Fnext%3D/settings"' in body


def source_messages() -> dict[str, str]:
    """Every msgid in templates/ and webapp/ (the simulator excepted), with where it is used."""
    found: dict[str, str] = {}
    sources = [
        ("templates", [("wechat_sim/**", "ignore"), ("**.html", "jinja2.ext:babel_extract")]),
        ("webapp", [("wechat_sim/**", "ignore"), ("**.py", "python")]),
    ]
    for folder, method_map in sources:
        options = {"**.html": {"extensions": "jinja2.ext.i18n"}}
        for filename, lineno, message, _comments, _context in extract_from_dir(
            str(REPO_ROOT / folder), method_map, options_map=options
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            found.setdefault(msgid, f"{folder}/{filename}:{lineno}")
    return found


def catalogue() -> dict[str, str]:
    """Every zh_CN translation, from messages.po and the per-area catalogues beside it."""
    translations: dict[str, str] = {}
    for path in catalogue_files(LOCALE_DIR, "zh_CN"):
        with Path(path).open("rb") as f:
            po = read_po(f, locale="zh_CN")
        assert not [m.id for m in po if m.id and m.fuzzy], f"fuzzy entries in {path.name} are ignored at runtime"
        for m in po:
            if m.id:
                msgid = m.id[0] if isinstance(m.id, tuple) else m.id
                translations[msgid] = m.string[0] if isinstance(m.string, tuple) else m.string
    return translations


def test_sources_have_messages_to_check() -> None:
    messages = source_messages()
    assert "Wrong username or password." in messages and "Log out of all other sessions" in messages


def test_every_message_has_a_chinese_translation() -> None:
    translations = catalogue()
    missing = sorted(f"{where}: {msgid!r}" for msgid, where in source_messages().items() if not translations.get(msgid))
    assert not missing, "untranslated in the zh_CN catalogues:\n" + "\n".join(missing)


def test_translations_keep_their_placeholders() -> None:
    wrong = [
        msgid
        for msgid, text in catalogue().items()
        if text and set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(text))
    ]
    assert not wrong


async def test_form_errors_are_translated(client: TestClient) -> None:
    await client.get("/signup")
    page = await (await client.get("/signup")).text()
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token
    body = await (await client.post("/signup", data={"csrf_token": token.group(1), "username": "ab"})).text()
    assert "用户名长度为 3 到 32 个字符。" in body and "请输入密码。" in body
