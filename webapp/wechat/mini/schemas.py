"""The mini program's trust boundary: jscode2session and getuserphonenumber answers become validated values.

- openid/unionid must look like WeChat's identifiers (webapp.wechat.schemas.identifier);
- session_key must be base64 of 16 bytes; it is kept out of every repr;
- a phone number is built in E.164 from countryCode (string or number) and purePhoneNumber (digits),
  and the watermark's appid must be the mini program's own.
Anything else raises MalformedResponse (a 503 for the person, nothing stored).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from webapp.wechat.errors import MalformedResponse
from webapp.wechat.schemas import identifier

COUNTRY_RE = re.compile(r"[1-9][0-9]{0,3}", re.ASCII)
NUMBER_RE = re.compile(r"[0-9]{4,14}", re.ASCII)
E164_MAX_DIGITS = 15


@dataclass(frozen=True)
class MiniSession:
    """A jscode2session answer: who (openid, and unionid when the mini program is bound) and the session_key."""

    openid: str
    unionid: str | None
    session_key: str = field(repr=False)

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> MiniSession:
        """Parse a successful jscode2session answer (it carries no errcode)."""
        key = payload.get("session_key")
        if not isinstance(key, str) or len(key) != 24:
            raise MalformedResponse("field 'session_key' missing or not 24 characters")
        try:
            if len(base64.b64decode(key, validate=True)) != 16:
                raise MalformedResponse("field 'session_key' is not 16 bytes")
        except binascii.Error:
            raise MalformedResponse("field 'session_key' is not base64") from None
        return cls(identifier(payload, "openid") or "", identifier(payload, "unionid", required=False), key)


@dataclass(frozen=True)
class PhoneNumber:
    """A number WeChat verified for this mini program, in E.164 (`+8613800138000`)."""

    e164: str
    appid: str


def phone_from_payload(payload: Mapping[str, Any], *, appid: str) -> PhoneNumber:
    """Parse getuserphonenumber's phone_info; refuse a watermark naming another app."""
    info = payload.get("phone_info")
    if not isinstance(info, Mapping):
        raise MalformedResponse("field 'phone_info' missing")
    country = info.get("countryCode")
    country = str(country) if isinstance(country, int) and not isinstance(country, bool) else country
    number = info.get("purePhoneNumber")
    if not isinstance(country, str) or not COUNTRY_RE.fullmatch(country):
        raise MalformedResponse("field 'countryCode' is not a country calling code")
    if not isinstance(number, str) or not NUMBER_RE.fullmatch(number) or len(country + number) > E164_MAX_DIGITS:
        raise MalformedResponse("field 'purePhoneNumber' is not a phone number")
    watermark = info.get("watermark")
    if not isinstance(watermark, Mapping) or watermark.get("appid") != appid:
        raise MalformedResponse("phone_info's watermark names another app")
    return PhoneNumber(f"+{country}{number}", appid)
