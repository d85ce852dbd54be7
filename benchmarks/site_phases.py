"""The single-process site's figures: QR logins (new, returning), in-WeChat logins, /api/me, /settings."""

from __future__ import annotations

from collections.abc import Awaitable
from functools import partial
from typing import Any

import aiohttp

from benchmarks.bench import Bench, progress
from benchmarks.browser import ME_PATH, WECHAT_HEADERS, Endpoints, consent, qr_login, wechat_login
from benchmarks.database import analyze, table_sizes
from benchmarks.load import LoadResult
from benchmarks.stack import start_bare
from benchmarks.web_phases import hammer, logged_in_session, loopback_connector, measure_rounds

UNBOUNDED_S = 3600.0  # count-bounded phases: as long as their rounds take


async def untimed(label: str, load: Awaitable[LoadResult]) -> None:
    """Setup load that must fully succeed (its users are the ones measured later)."""
    progress(f"{label} (setup, untimed) ...")
    result = await load
    if result.errors:
        raise RuntimeError(f"{label}: {result.errors} of {result.errors + result.ok} failed: {result.error_samples}")


async def first_logins(b: Bench, ends: Endpoints) -> dict[str, Any]:
    """Warm the site up, then the cohort's first logins (timed: new users); some of them also log in in WeChat.

    The tables have grown by the cohort in seconds: ANALYZE then, as autovacuum would have by the time a real
    site's tables doubled, so the later phases run on the plans of the database they measure.
    """
    conc, people = b.config.concurrency, b.people
    await untimed(f"{len(people.warmup)} warm-up QR logins", measure_rounds(
        partial(qr_login, ends=ends, new=True), people.warmup, concurrency=conc, duration_s=UNBOUNDED_S,
        max_ops=len(people.warmup)))
    new = await b.timed(f"QR logins of {len(people.cohort):,} new users", measure_rounds(
        partial(qr_login, ends=ends, new=True), people.cohort, concurrency=conc, duration_s=UNBOUNDED_S,
        max_ops=len(people.cohort)))
    mp_users = people.cohort[: b.config.mp_users]
    async with aiohttp.ClientSession(connector=loopback_connector(conc)) as http:
        for user in mp_users:
            await consent(http, ends.sim, user)
    await untimed(f"{len(mp_users)} first in-WeChat logins (snsapi_userinfo, linked by unionid)", measure_rounds(
        partial(wechat_login, ends=ends, step_up=True), mp_users, concurrency=conc, duration_s=UNBOUNDED_S,
        max_ops=len(mp_users), headers=WECHAT_HEADERS))
    await analyze(b.db.url)
    return new


async def returning_logins(b: Bench, ends: Endpoints, label: str, *, server: str = "site") -> dict[str, Any]:
    """Returning-user QR logins for the phase duration, cycling through the cohort."""
    return await b.timed(label, measure_rounds(partial(qr_login, ends=ends, new=False), b.people.cohort,
                                               concurrency=b.config.concurrency, duration_s=b.config.duration_s),
                         server=server, scans=server == "site")


async def api_me(b: Bench, ends: Endpoints, cookies: dict[str, str]) -> dict[str, Any]:
    """Authenticated GET /api/me for the phase duration."""
    return await b.timed("GET /api/me on the site", hammer(ends.site + ME_PATH, cookies,
                                                           concurrency=b.config.concurrency,
                                                           duration_s=b.config.duration_s), scans=True)


async def site_figures(b: Bench, ends: Endpoints) -> dict[str, Any]:
    """Every figure of the single-process site with the cohort (about 1,000 users) in the database."""
    conc, duration = b.config.concurrency, b.config.duration_s
    new = await first_logins(b, ends)
    rows = await table_sizes(b.db.url)
    returning = await returning_logins(b, ends, "QR logins of returning users")
    silent = await b.timed("in-WeChat silent logins (snsapi_base)", measure_rounds(
        partial(wechat_login, ends=ends), b.people.cohort[: b.config.mp_users], concurrency=conc,
        duration_s=duration, headers=WECHAT_HEADERS))
    cookies, body = await logged_in_session(ends, b.people.cohort[0])
    me = await api_me(b, ends, cookies)
    bare = b.add(await start_bare(body, b.work))
    me_bare = await b.timed("GET /api/me on the bare handler", hammer(
        f"{bare.url}{ME_PATH}", {}, concurrency=conc, duration_s=duration), server="bare")
    bare.stop()
    floor = b.add(await start_bare(body, b.work, database_url=b.db.url))
    me_floor = await b.timed("GET /api/me on the bare handler with the session query", hammer(
        f"{floor.url}{ME_PATH}", cookies, concurrency=conc, duration_s=duration), server="bare+query")
    floor.stop()
    settings = await b.timed("GET /settings", hammer(ends.site + "/settings", cookies, concurrency=conc,
                                                     duration_s=duration))
    # The headline (issue 15): the site against the bare handler making the same single query.
    ratio = me["per_s"] / me_floor["per_s"] if me_floor["per_s"] else None
    to_bare = me["per_s"] / me_bare["per_s"] if me_bare["per_s"] else None
    floor_ratio = me_floor["per_s"] / me_bare["per_s"] if me_bare["per_s"] else None
    # The same comparison by CPU per request (steadier when the machine's two cores are shared by the
    # load generator, PostgreSQL and the server): the bare handler's CPU per request over the site's.
    cpu_ratio = _cpu_per_op(me_floor, "bare+query") / _cpu_per_op(me, "site") if _cpu_per_op(me, "site") else None
    return {"database_rows": rows, "cookies": cookies,
            "qr_login": {"new": new, "returning": returning}, "wechat_silent_login": silent,
            "api_me": {"site": me, "bare": me_bare, "bare_with_query": me_floor, "ratio": _round(ratio, 4),
                       "ratio_percent": _round(ratio and 100 * ratio, 1), "ratio_site_to_bare": _round(to_bare, 4),
                       "bare_with_query_ratio": _round(floor_ratio, 4), "cpu_ratio": _round(cpu_ratio, 4)},
            "settings_page": settings}


def _cpu_per_op(summary: dict[str, Any], server: str) -> float:
    """Seconds of the server's CPU per successful request (0 when none succeeded)."""
    return summary["cpu_s"].get(server, 0.0) / summary["ok"] if summary.get("ok") else 0.0


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)
