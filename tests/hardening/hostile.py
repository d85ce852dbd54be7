"""Hostile raw HTTP requests for every route: odd cookies and headers as bytes, sent over a real socket.

One generator, driven by a `random.Random`: the property tests feed it hypothesis' randoms (shrinkable,
derandomized) and `fuzz_routes.py` a seeded one, so both explore the same space. Requests are written
byte for byte (aiohttp's client refuses to send most of what a hostile client can), with a correct
Content-Length and `Connection: close`.
"""

from __future__ import annotations

import asyncio
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from webapp.accounts.resume import COOKIE as RESUME_COOKIE
from webapp.browser import BINDING_COOKIE
from webapp.clientinfo import DEV_WECHAT_COOKIE
from webapp.csrf import CSRF_COOKIE, CSRF_FIELD, CSRF_HEADER
from webapp.i18n import LANG_COOKIE
from webapp.localtime import TZ_COOKIE
from webapp.sessions import COOKIE_NAME as SESSION_COOKIE
from webapp.templating import FLASH_COOKIE
from webapp.wechat.flowcookie import PREFIX
from webapp.wechat.pages import OUTCOME_COOKIE

FLOW_COOKIE = PREFIX + "AAAAAAAAAAAA"  # a per-flow cookie (webapp.wechat.flowcookie)

COOKIES = [SESSION_COOKIE, CSRF_COOKIE, FLASH_COOKIE, LANG_COOKIE, TZ_COOKIE, OUTCOME_COOKIE, BINDING_COOKIE,
           RESUME_COOKIE, DEV_WECHAT_COOKIE, FLOW_COOKIE]
HEADERS = ["X-Forwarded-For", "X-Request-ID", "User-Agent", "Accept-Language", "Referer", "Origin", "Accept",
           "If-Modified-Since", "If-None-Match", "Range", "Accept-Encoding", "Authorization", "X-Requested-With",
           CSRF_HEADER, "Forwarded", "X-Real-IP", "Content-Language", "Sec-Fetch-Site", "Sec-Fetch-Mode"]
FIELDS = ["username", "password", "confirm", "current_password", "display_name", "next", "why", "qr", "state",
          "code", "scope", "lang", "locale", "confirm_text", "action", "format", "echostr", "signature", "nonce",
          "timestamp", CSRF_FIELD]
ODD_TEXT = ["", "\u0000", "é", "张伟🌸", "\ud800", "\u202e", "👩\u200d💻", "xn--zz", "A" * 3000, "%", "%zz", "\"", ";",
            ",", "=", " ", "\\", "..", "//evil.example", "\x7f", "\u0085", "\ufeff", "-1", "1e999", "NaN", "null"]
ODD_BYTES = [b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\xe9", b"\x80abc", b"\xf0\x9f\x8c", b"\x00", b"\x01\x1b[31m",
             b"\xef\xbb\xbf", b"\"quoted\"", b"a=b=c", b";;;", b"xn--zz.qlogo.cn", b"::ffff:127.0.0.1", b"[::1]:80",
             b"127.0.0.1, unknown", b"10.0.0.1,,,", b"2001:db8::1%eth0", b"0x7f000001", b"999.999.999.999"]
ADDRESSES = [b"127.0.0.1", b"::1", b"203.0.113.7", b"10.0.0.1", b"unknown", b"", b"::ffff:10.1.2.3", b"[2001:db8::1]:443",
             b"1.2.3.4:80", b"fe80::1%25lo"]
CONTENT_TYPES = [b"application/x-www-form-urlencoded", b"application/x-www-form-urlencoded; charset=latin-1",
                 b"application/x-www-form-urlencoded; charset=rot13", b"multipart/form-data",
                 b"multipart/form-data; boundary=xyz", b"application/json", b"text/xml", b"text/xml; charset=base64",
                 b"\xff/\xff", b"", b"text/plain; charset=\"\xe9\""]


@dataclass(frozen=True)
class Known:
    """What a real browser of the site holds: a session cookie and a CSRF cookie with its token."""

    cookies: dict[str, str]
    token: str


def text_or_bytes(rng: random.Random) -> bytes:
    """A value as bytes: odd text, odd bytes, random printable junk or random bytes (never CR or LF)."""
    pick = rng.randrange(9) % 5  # random bytes (the parser's 400 for most) least often
    if pick == 0:
        raw = rng.choice(ODD_TEXT).encode("utf-8", "surrogatepass")
    elif pick == 1:
        raw = rng.choice(ODD_BYTES)
    elif pick == 2:
        raw = bytes(rng.randrange(0x20, 0x7f) for _ in range(rng.randrange(0, 40)))
    elif pick == 3:
        raw = "".join(chr(rng.randrange(0x20, 0x30000)) for _ in range(rng.randrange(1, 12))).encode("utf-8", "surrogatepass")
    else:
        raw = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 24)))
    return raw.replace(b"\r", b"").replace(b"\n", b"")


def mutate(rng: random.Random, value: str) -> bytes:
    """A real value with one character replaced, inserted or cut: what a tampering client sends."""
    raw = value.encode()
    if not raw:
        return text_or_bytes(rng)
    at = rng.randrange(len(raw))
    insert = rng.choice([b"\xc3\xa9", b"\xe9", b"\xff", b"\x00", b" ", b"\"", b"\xed\xa0\x80", b";", text_or_bytes(rng)])
    how = rng.randrange(3)
    if how == 0:
        return (raw[:at] + insert + raw[at + 1 :]).replace(b"\r", b"").replace(b"\n", b"")
    if how == 1:
        return (raw[:at] + insert + raw[at:]).replace(b"\r", b"").replace(b"\n", b"")
    return raw[:at]


def cookie_header(rng: random.Random, known: Known) -> bytes:
    """A Cookie header: the real cookies, some tampered with or replaced, plus odd names and duplicates."""
    parts = []
    for name in COOKIES:
        real = known.cookies.get(name)
        roll = rng.randrange(7)
        if roll == 0 or (roll in (1, 6) and real is None):
            continue
        if roll in (1, 6) and real is not None:
            parts.append(name.encode() + b"=" + real.encode())
        elif roll in (2, 3) and real is not None:
            parts.append(name.encode() + b"=" + mutate(rng, real))
        else:
            parts.append(name.encode() + b"=" + text_or_bytes(rng))
    if rng.random() < 0.2:
        parts.append(text_or_bytes(rng) + b"=" + text_or_bytes(rng))
    if rng.random() < 0.1:
        parts.append(text_or_bytes(rng))
    rng.shuffle(parts)
    return b"; ".join(parts)


def percent(raw: bytes) -> bytes:
    return quote(raw, safe="").encode()


def target(rng: random.Random, template: str) -> bytes:
    """The route's path with its placeholders filled, and a query of site and random field names."""
    path = re.sub(r"\{[^}]+\}", lambda _m: percent(text_or_bytes(rng))[:200].decode() or "x", template).encode()
    if rng.random() < 0.1:
        path += text_or_bytes(rng).replace(b" ", b"").replace(b"?", b"")  # raw bytes in the path itself
    items = [(rng.choice(FIELDS).encode() if rng.random() < 0.7 else text_or_bytes(rng), text_or_bytes(rng))
             for _ in range(rng.randrange(4))]
    query = b"&".join(percent(k) + b"=" + percent(v) for k, v in items)
    return path + (b"?" + query if query else b"")


def body(rng: random.Random, known: Known) -> tuple[bytes, bytes]:
    """A body and its Content-Type: a form (usually with the right CSRF token), JSON, XML or bytes."""
    fields = [(rng.choice(FIELDS).encode(), text_or_bytes(rng)) for _ in range(rng.randrange(5))]
    if rng.random() < 0.7:
        fields.insert(0, (CSRF_FIELD.encode(), known.token.encode() if rng.random() < 0.8 else mutate(rng, known.token)))
    kind = rng.randrange(4)
    if kind <= 1:
        return b"&".join(percent(k) + b"=" + percent(v) for k, v in fields), CONTENT_TYPES[0]
    if kind == 2:
        xml = b"<?xml version=\"1.0\" encoding=\"" + rng.choice([b"utf-8", b"rot13", b"base64", b"x"]) + b"\"?><xml>"
        return xml + b"".join(b"<" + k + b">" + v + b"</" + k + b">" for k, v in fields) + b"</xml>", b"text/xml"
    return b"".join(v for _k, v in fields), rng.choice(CONTENT_TYPES)


def request(rng: random.Random, routes: Sequence[tuple[str, str]], known: Known, host: bytes) -> bytes:
    """One whole hostile request for a route picked at random."""
    method, template = rng.choice(routes)
    lines = [method.encode() + b" " + target(rng, template) + b" HTTP/1.1"]
    lines.append(b"Host: " + (host if rng.random() < 0.8 else text_or_bytes(rng)))
    lines.append(b"Cookie: " + cookie_header(rng, known))
    for name in rng.sample(HEADERS, rng.randrange(5)):  # a few at a time: each odd byte may end at the parser
        if name == "X-Forwarded-For":
            for _line in range(rng.randrange(1, 3)):
                hops = [rng.choice(ADDRESSES) if rng.random() < 0.6 else text_or_bytes(rng) for _ in range(rng.randrange(4))]
                lines.append(b"X-Forwarded-For: " + b", ".join(hops))
        elif name == CSRF_HEADER and rng.random() < 0.7:
            lines.append(name.encode() + b": " + known.token.encode())
        else:
            lines.append(name.encode() + b": " + text_or_bytes(rng))
    payload = b""
    if method != "GET":
        payload, content_type = body(rng, known)
        lines.append(b"Content-Type: " + content_type)
    lines += [b"Content-Length: " + str(len(payload)).encode(), b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + payload


async def send(host: str, port: int, raw: bytes) -> tuple[int, bytes]:
    """Write one request on a fresh connection; the status and the whole answer (read to EOF)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(raw)
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 30)  # a guard, never a wait: the server closes first
    finally:
        writer.close()
    match = re.match(rb"HTTP/1\.[01] (\d{3})", answer)
    assert match, answer[:200]
    return int(match.group(1)), answer


def failure(status: int, answer: bytes) -> str | None:
    """Why an answer is a failure (a 5xx other than /readyz's or a push's deliberate 503, or a traceback)."""
    if status >= 500 and status != 503:
        return f"status {status}"
    if b"Traceback" in answer or b'File "' in answer:
        return "traceback shown"
    return None
