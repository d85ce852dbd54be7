"""The worker's avatar step: copy every due avatar to our own origin, a few downloads at a time."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from webapp.avatars import store
from webapp.avatars.fetch import AvatarError, AvatarFetcher, AvatarRefused, Fetched
from webapp.db import Database

log = logging.getLogger("webapp.avatars")
BATCH = 20
CONCURRENCY = 4
MAX_BATCHES = 10  # per pass: a backlog drains over several passes instead of holding one up


@dataclass
class AvatarReport:
    """What one pass did."""

    copied: int = 0
    failed: int = 0
    gave_up: int = 0


async def copy_due_avatars(db: Database, fetcher: AvatarFetcher, *, clock: Callable[[], datetime]) -> AvatarReport:
    """Copy the avatars due now; a failure backs its row off and never fails the pass."""
    report = AvatarReport()
    limit = asyncio.Semaphore(CONCURRENCY)
    for _batch in range(MAX_BATCHES):
        async with db.connection() as conn:
            rows = await store.claim_due(conn, now=clock(), limit=BATCH)
        if not rows:
            break
        # Downloads overlap; the writes go one after another on one connection.
        results = await asyncio.gather(*(_download(fetcher, row["avatar_source"], limit) for row in rows))
        async with db.connection() as conn:
            for row, result in zip(rows, results, strict=True):
                await _store(conn, row, result, report, now=clock())
        if len(rows) < BATCH:
            break
    if report.copied or report.failed:
        log.info("avatars: %d copied, %d failed (%d given up)", report.copied, report.failed, report.gave_up)
    return report


async def _download(fetcher: AvatarFetcher, source: str, limit: asyncio.Semaphore) -> Fetched | AvatarError | None:
    if not source:
        return None
    async with limit:
        try:
            return await fetcher.fetch(source)
        except AvatarError as exc:
            return exc


async def _store(
    conn: asyncpg.Connection, row: asyncpg.Record, result: Fetched | AvatarError | None, report: AvatarReport,
    *, now: datetime,
) -> None:
    user_id, source = row["id"], row["avatar_source"]
    if result is None:
        await store.forget(conn, user_id=user_id)
    elif isinstance(result, Fetched):
        report.copied += await store.save(conn, user_id=user_id, source=source, image=result, now=now)
    else:
        report.failed += 1
        gave_up = await store.failed(conn, user_id=user_id, source=source, failures=row["avatar_fetch_failures"],
                                     permanent=isinstance(result, AvatarRefused), now=now)
        report.gave_up += gave_up
        # The reason only, never the URL: it identifies the person's picture.
        log.log(logging.WARNING if gave_up else logging.INFO, "avatar of user %d not copied: %s", user_id, result)
