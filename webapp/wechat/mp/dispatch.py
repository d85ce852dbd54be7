"""One checked delivery, handled once: remember it, act on its event, say what the chat should show.

The dedup keys and the work share one transaction; NOTIFYs go out on its commit, and this process's
own waiters are woken right after.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from webapp.i18n import gettext as _
from webapp.wechat.mp import dedup, identities, notify, scenes
from webapp.wechat.mp.inbound import AuthorizationChange, Delivery, Event, Scan, Unfollow, classify

log = logging.getLogger("webapp.wechat.mp")


@dataclass(frozen=True)
class Context:
    """What handling needs besides the delivery: our apps, the site's host for chat replies, the time."""

    default_appid: str
    appids: Collection[str]
    site: str
    now: datetime


@dataclass(frozen=True)
class _Done:
    reply: str | None = None
    wake: tuple[str, ...] = ()


async def handle(
    sm: async_sessionmaker[AsyncSession], notifier: notify.Notifier, delivery: Delivery, ctx: Context
) -> str | None:
    """Handle a delivery once; return a passive text reply for the user, or None for plain success."""
    event = classify(delivery.push, default_appid=ctx.default_appid)
    try:
        async with sm.begin() as s:
            await dedup.remember(s, delivery.nonce_key, now=ctx.now)
            await dedup.remember(s, delivery.push.dedup_key, now=ctx.now)
            done = await _act(s, event, ctx)
    except dedup.Duplicate:
        log.info("duplicate %s delivery ignored", type(event).__name__)
        return None
    for key in done.wake:
        notifier.wake(key)
    return done.reply


async def _act(s: AsyncSession, event: Event, ctx: Context) -> _Done:
    if isinstance(event, Scan):
        return await _scan(s, event, ctx)
    if isinstance(event, Unfollow):
        keys = tuple(
            scenes.wake_key(scene) for scene in await scenes.cancel_scans_of(s, openid=event.openid, now=ctx.now)
        )
        for key in keys:
            await notify.notify(s, key)
        return _Done(wake=keys)
    if isinstance(event, AuthorizationChange):
        if event.appid not in ctx.appids:
            log.warning("authorization change for an app this site does not use; ignored")
        elif event.kind == "profile_modified":
            await identities.request_profile_sync(s, appid=event.appid, openid=event.openid, now=ctx.now)
        else:
            await identities.revoke(s, appid=event.appid, openid=event.openid, now=ctx.now)
        return _Done()
    log.debug("ignored push: %s", event.what)
    return _Done()


async def _scan(s: AsyncSession, event: Scan, ctx: Context) -> _Done:
    """A login QR scanned: mark the scene and tell the scanner, in their chat, what happens next."""
    if not scenes.SCENE_RE.fullmatch(event.scene):
        return _Done()  # a parametric QR of something other than our login
    result = await scenes.mark_scanned(
        s, scene=event.scene, ticket=event.ticket, openid=event.openid, appid=ctx.default_appid, now=ctx.now
    )
    if result == "scanned":
        key = scenes.wake_key(event.scene)
        await notify.notify(s, key)
        return _Done(reply=_logging_in(ctx.site), wake=(key,))
    if result == "rescanned":
        return _Done(reply=_logging_in(ctx.site))
    if result == "used":
        return _Done(
            reply=_(
                "This QR code was already used. Refresh the login page of %(site)s to get a new one.", site=ctx.site
            )
        )
    return _Done(
        reply=_("This QR code has expired. Refresh the login page of %(site)s and scan the new one.", site=ctx.site)
    )


def _logging_in(site: str) -> str:
    # A forwarded QR logs the forwarder's browser in as the scanner: the chat says where, so they can tell.
    return _(
        "Logging you in to %(site)s in the browser that shows this QR code. Not you at that screen? "
        "Don't scan QR codes others send you.",
        site=site,
    )
