"""An embedded PostgreSQL in a throw-away directory under /tmp, migrated to the latest schema; row counts."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg


@dataclass(frozen=True)
class Database:
    """The running server: its URL and the postmaster's process id."""

    url: str
    pid: int


@contextmanager
def embedded_database() -> Iterator[Database]:
    """Start pgserver in a fresh /tmp directory, migrate it, and delete it all on exit."""
    runtime_dir = tempfile.mkdtemp(prefix="webapp-bench-xdg-")
    os.environ["XDG_RUNTIME_DIR"] = runtime_dir  # before pgserver's import: it wants a 0700 runtime dir
    import pgserver

    from webapp.migrations import upgrade_head

    data_dir = tempfile.mkdtemp(prefix="webapp-bench-pg-", dir="/tmp")  # pgserver's OS user can't read /root
    server = pgserver.get_server(data_dir, cleanup_mode="delete")  # type: ignore[attr-defined]
    try:
        url = server.get_uri()
        upgrade_head(url)
        yield Database(url=url, pid=int(server.get_pid() or 0))
    finally:
        server.cleanup()
        shutil.rmtree(runtime_dir, ignore_errors=True)


def asyncpg_dsn(url: str) -> str:
    """The database URL in the form asyncpg accepts (no SQLAlchemy driver suffix)."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def table_sizes(url: str) -> dict[str, int]:
    """Exact row counts of the tables whose size the figures depend on."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        return {table: int(await conn.fetchval(f"SELECT count(*) FROM {table}"))
                for table in ("users", "wechat_identities", "wechat_unions", "web_sessions")}
    finally:
        await conn.close()


async def analyze(url: str) -> None:
    """Refresh the planner's statistics, as autovacuum does within a minute of a table growing by a tenth.

    A benchmark grows its tables from almost nothing in seconds; without this, the plans the site prepared
    on near-empty tables (sequential scans) would still be in use, which a running site never sees.
    """
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def column_names(conn: asyncpg.Connection, table: str) -> set[str]:
    """The columns `table` has in this checkout's schema (it changes while the site is being worked on)."""
    rows = await conn.fetch("SELECT column_name FROM information_schema.columns WHERE table_name = $1", table)
    return {row["column_name"] for row in rows}


async def table_scans(url: str) -> dict[str, tuple[int, int]]:
    """(sequential scans, rows they read) so far, by table, from pg_stat_user_tables."""
    conn = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await conn.fetch("SELECT relname, seq_scan, seq_tup_read FROM pg_stat_user_tables")
        return {row["relname"]: (int(row["seq_scan"] or 0), int(row["seq_tup_read"] or 0)) for row in rows}
    finally:
        await conn.close()


def scans_per_op(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]], ops: int) -> dict[str, Any]:
    """Sequential scans and the rows they read per operation, for the tables scanned in between.

    PostgreSQL publishes a backend's counters within about a second (up to ten once it idles), so a phase's
    last moments may land in the next one: an indicator of full-table reads, not an exact count.
    """
    delta = {t: (scans - before.get(t, (0, 0))[0], rows - before.get(t, (0, 0))[1]) for t, (scans, rows) in after.items()}
    return {t: {"seq_scans_per_op": round(s / ops, 2), "rows_read_per_op": round(r / ops, 1)}
            for t, (s, r) in sorted(delta.items()) if r > 0 and ops}
