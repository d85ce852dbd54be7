"""Database plumbing: the declarative Base, SQLAlchemy sessions for the rare paths, asyncpg for the hot ones.

The hot paths (loading a session with its user, starting and finishing a WeChat login, the refresher)
talk to asyncpg directly: one round trip per statement, no BEGIN/ROLLBACK around single reads, no
pre-ping, no reset query when a connection goes back to the pool. Everything else uses SQLAlchemy
sessions. `Database` gives both, over one PostgreSQL; in tests both run on the one connection of a
rolled-back transaction.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime
from typing import Any, cast
from uuid import uuid4

import asyncpg
import orjson
from sqlalchemy import CursorResult, DateTime, MetaData, Result
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

from webapp.readlane import ReadLane

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
# Errors after which a connection cannot be trusted: the pool drops it, the caller may retry once.
CONNECTION_ERRORS = (
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    # "cannot switch to state …; another operation is in progress": a connection the server closed
    # while it sat idle, used before asyncpg noticed. It cannot be trusted either.
    asyncpg.InternalClientError,
    ConnectionError,
    OSError,
)
Sessionmaker = async_sessionmaker[AsyncSession]


class RedactedDatabaseError(Exception):
    """Stands in, in logs, for a database error whose text quotes row values (DETAIL: Key (openid)=(…))."""


def loggable(exc: BaseException) -> BaseException:
    """`exc` fit for a log: a PostgreSQL error becomes its class, SQLSTATE, table and constraint, same traceback.

    asyncpg (and SQLAlchemy, which wraps it) put PostgreSQL's message and DETAIL in str(): "Failing row
    contains (…)" or "Key (openid)=(…)" would write openids, ciphertexts and URLs to the log. hide_parameters
    does not cover that. Any other exception is returned as it is.
    """
    pg = _postgres_error(exc)
    if pg is None:
        return exc
    names = (("schema", pg.schema_name), ("table", pg.table_name), ("column", pg.column_name),
             ("constraint", pg.constraint_name))
    where = ", ".join(f"{label} {value}" for label, value in names if value)
    stand_in = RedactedDatabaseError(f"{type(pg).__name__} (SQLSTATE {pg.sqlstate})" + (f": {where}" if where else ""))
    return stand_in.with_traceback(exc.__traceback__)


def _postgres_error(exc: BaseException | None) -> asyncpg.PostgresError | None:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, asyncpg.PostgresError):
            return exc
        seen.add(id(exc))
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return None


class UTCDateTime(TypeDecorator[datetime]):
    """timestamptz that refuses naive datetimes and always returns aware UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: object) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value

    def process_result_value(self, value: datetime | None, dialect: object) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None


class Base(DeclarativeBase):
    """Base of every ORM model; constraint names follow NAMING_CONVENTION."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012  (SQLAlchemy reads this class attribute)


def make_engine(database_url: str, *, pool_size: int = 5, pool_mode: str = "session") -> AsyncEngine:
    """SQLAlchemy's engine for the rare paths: no pre-ping (a dropped connection is invalidated on use)."""
    connect_args: dict[str, Any] = {}
    if pool_mode == "transaction":
        # PgBouncer in transaction pooling: no statement may outlive its transaction on the server.
        connect_args = {
            "statement_cache_size": 0,
            "prepared_statement_cache_size": 0,
            "prepared_statement_name_func": lambda: f"__webapp_{uuid4().hex}__",
        }
    return create_async_engine(
        database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        hide_parameters=True,  # SQL errors must not write tokens, openids or URLs to the logs
        connect_args=connect_args,
    )


def make_sessionmaker(database_url: str, **engine_options: Any) -> Sessionmaker:
    """An async sessionmaker on a pooled asyncpg engine."""
    return async_sessionmaker(make_engine(database_url, **engine_options), expire_on_commit=False)


async def init_connection(conn: asyncpg.Connection) -> None:
    """JSON codecs as SQLAlchemy sets them: parameters are JSON text, results are Python values."""
    for name in ("json", "jsonb"):
        await conn.set_type_codec(name, encoder=_json_text, decoder=orjson.loads, schema="pg_catalog")


def _json_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Nothing to reset: the hot paths never LISTEN, SET or take session-level locks."""


class Database:
    """PostgreSQL for the site: `connection()` for asyncpg on the hot paths, `sm` for SQLAlchemy sessions."""

    def __init__(self, sm: Sessionmaker, acquire: Callable[[], AbstractAsyncContextManager[asyncpg.Connection]]) -> None:
        self.sm = sm
        self._acquire = acquire
        self.pool: asyncpg.Pool | None = None
        self._pool_mode: str | None = None  # set by pooled(): a joined Database never opens a pool
        self._opening = asyncio.Lock()
        self._max_size = 10
        self.lane = ReadLane(CONNECTION_ERRORS)  # fetchrow's connections (webapp.readlane)

    def connection(self) -> AbstractAsyncContextManager[asyncpg.Connection]:
        """An asyncpg connection for a few statements (an idle read-lane one first), left to the read lane
        afterwards (to the pool after an error, or while a write waits for it)."""
        return self._acquire()

    async def fetchrow(self, sql: str, *args: object) -> asyncpg.Record | None:
        """One read-only statement's first row: on the read lane of the pool (webapp.readlane), the hot path
        of every logged-in request (its session query)."""
        pool = self.pool
        if pool is None:
            async with self._acquire() as conn:
                return await conn.fetchrow(sql, *args)
        return await self.lane.fetchrow(pool, sql, *args)

    @classmethod
    def joined_to(cls, sm: Sessionmaker) -> Database:
        """For tests: hot paths run on the sessionmaker's own connection, inside its transaction."""
        bind = sm.kw["bind"]
        if not isinstance(bind, AsyncConnection):
            raise TypeError("joined_to needs a sessionmaker bound to one AsyncConnection")

        started = False
        one_at_a_time = asyncio.Lock()  # one connection: concurrent users (the refresher's claims and stores) queue

        @asynccontextmanager
        async def acquire() -> AsyncIterator[asyncpg.Connection]:
            nonlocal started
            async with one_at_a_time:
                if not started:  # SQLAlchemy sends BEGIN lazily: make sure the hot paths run inside its transaction
                    await bind.exec_driver_sql("SELECT 1")
                    started = True
                raw = await bind.get_raw_connection()
                yield raw.driver_connection

        return cls(sm, acquire)

    @classmethod
    def pooled(cls, sm: Sessionmaker, *, pool_mode: str = "session") -> Database:
        """An asyncpg pool beside the sessionmaker's engine, on the same database; `open()` starts it."""
        db = cls(sm, lambda: db._pool_acquire())
        db._pool_mode = pool_mode
        return db

    async def open(self, *, min_size: int = 1, max_size: int = 10) -> None:
        """Create the asyncpg pool (a no-op for a joined Database); retried on first use if the database is down."""
        if self._pool_mode is None or self.pool is not None:
            return
        self._max_size = max_size
        async with self._opening:
            if self.pool is not None:
                return
            engine: AsyncEngine = self.sm.kw["bind"]
            url = engine.url.set(drivername="postgresql")
            self.pool = await asyncpg.create_pool(
                url.render_as_string(hide_password=False),
                min_size=min_size,
                max_size=max_size,
                init=init_connection,
                reset=_no_reset,
                statement_cache_size=0 if self._pool_mode == "transaction" else 256,
            )
            self.lane.attach(self.pool, max_size)

    async def close_pool(self) -> None:
        """Close the asyncpg pool (the lane's connections go back first); the engine stays."""
        pool, self.pool = self.pool, None
        await self.lane.detach()
        if pool is not None:
            await pool.close()

    async def close(self) -> None:
        """Close the asyncpg pool and dispose of the engine."""
        await self.close_pool()
        bind = self.sm.kw["bind"]
        if isinstance(bind, AsyncEngine):
            await bind.dispose()

    @asynccontextmanager
    async def _pool_acquire(self) -> AsyncIterator[asyncpg.Connection]:
        if self.pool is None:
            await self.open(max_size=self._max_size)
        pool = self.pool
        assert pool is not None
        conn = await self.lane.acquire(pool)  # an idle read-lane connection first: writes come first
        try:
            yield conn
        except BaseException:
            await pool.release(conn)  # the pool discards it if broken
            raise
        await self.lane.release(pool, conn)  # to the next read, or idle in the lane

    def pool_usage(self) -> tuple[int, int]:
        """(connections in use, idle connections) of the asyncpg pool."""
        if self.pool is None:
            return 0, 0
        size, idle = self.pool.get_size(), self.pool.get_idle_size() + len(self.lane.idle)
        return size - idle, idle


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (execute() is typed as Result; for those statements it is a CursorResult)."""
    return cast("CursorResult[Any]", result).rowcount or 0
