"""The XML of the events an account receives (§10.3), element order and CDATA as in real pushes."""

from __future__ import annotations

from dataclasses import dataclass

from defusedxml import ElementTree

from webapp.wechat_sim import ids
from webapp.wechat_sim.fixture import SimApp

Field = tuple[str, str | int]


@dataclass(frozen=True)
class PushMessage:
    """One message to push: its plaintext XML and what the sender needs around it."""

    appid: str
    to_user: str
    from_user: str
    event: str
    xml: str


def cdata(text: str) -> str:
    """Wrap text in CDATA, splitting any `]]>` inside it."""
    return "<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def render(fields: list[Field]) -> str:
    """Return `<xml>…</xml>`: strings in CDATA, numbers bare (as CreateTime is)."""
    inner = "".join(f"<{name}>{value if isinstance(value, int) else cdata(value)}</{name}>" for name, value in fields)
    return f"<xml>{inner}</xml>"


def _event(app: SimApp, from_user: str, now: float, event: str, extra: list[Field]) -> PushMessage:
    """Build an event message with the common header fields."""
    fields: list[Field] = [("ToUserName", app.original_id), ("FromUserName", from_user),
                           ("CreateTime", int(now)), ("MsgType", "event"), ("Event", event), *extra]
    return PushMessage(app.appid, app.original_id, from_user, event, render(fields))


def subscribe(app: SimApp, openid: str, now: float, *, scene: str | None = None,
              ticket: str | None = None) -> PushMessage:
    """A follow: plain (empty EventKey) or after scanning a parametric QR (qrscene_<scene> + Ticket)."""
    if scene is None:
        return _event(app, openid, now, "subscribe", [("EventKey", "")])
    return _event(app, openid, now, "subscribe", [("EventKey", f"qrscene_{scene}"), ("Ticket", ticket or "")])


def scan(app: SimApp, openid: str, now: float, scene: str, ticket: str) -> PushMessage:
    """A follower scanned a parametric QR: EventKey is the bare scene."""
    return _event(app, openid, now, "SCAN", [("EventKey", scene), ("Ticket", ticket)])


def unsubscribe(app: SimApp, openid: str, now: float) -> PushMessage:
    """An unfollow."""
    return _event(app, openid, now, "unsubscribe", [("EventKey", "")])


def authorization_change(app: SimApp, event: str, openid: str, unionid: str | None, now: float,
                         revoke_info: str) -> PushMessage:
    """user_authorization_revoke / user_info_modified: sent by the platform account, the user is OpenID."""
    extra: list[Field] = [("OpenID", openid), ("AppID", app.appid), ("RevokeInfo", revoke_info)]
    if unionid is not None:
        extra.append(("UnionID", unionid))
    return _event(app, ids.push_account_for(app.appid), now, event, extra)


def arbitrary(app: SimApp, xml: str) -> PushMessage:
    """Wrap a caller-supplied body; FromUserName/ToUserName/Event are read from it when it parses."""
    try:
        root = ElementTree.fromstring(xml)
    except (ElementTree.ParseError, ValueError):  # odd bodies are the point of this route: send them as they are
        root = None

    def text(name: str, default: str) -> str:
        found = root.find(name) if root is not None else None
        return (found.text or "") if found is not None else default

    return PushMessage(app.appid, text("ToUserName", app.original_id), text("FromUserName", ""),
                       text("Event", text("MsgType", "")), xml)
