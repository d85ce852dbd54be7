"""Prometheus metrics: the typed calls the site makes, right in one process and under `serve --workers N`.

One process (`serve`, `dev`, `worker`, tests): values live in memory. `serve --workers N`: the parent calls
prepare_multiprocess(dir) before it starts any child; each child writes its values to its own files there
and a scrape of any child adds up every process (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.process_collector import ProcessCollector

from webapp.observability import labels as L

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
API_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class PoolCounts(NamedTuple):
    """Connections of one pool: checked out by a task, and idle in the pool."""

    in_use: int
    idle: int


@dataclass(frozen=True)
class _Metrics:
    key: tuple[int, str | None]
    registry: CollectorRegistry
    logins: Counter
    wechat_calls: Counter
    wechat_seconds: Histogram
    refresh: Counter
    oldest_overdue: Gauge
    oauth_states: Counter
    throttled: Counter
    pool: Gauge
    http_requests: Counter
    http_seconds: Histogram


def _build(key: tuple[int, str | None]) -> _Metrics:
    # prometheus_client picks memory or files per value from this class, read when a value is created.
    if key[1] and not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()
    elif not key[1] and getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MutexValue
    disable_created_metrics()  # the *_created series double every counter for nothing we use
    r = CollectorRegistry()
    if not key[1]:
        ProcessCollector(registry=r)
    return _Metrics(
        key,
        r,
        Counter("webapp_logins_total", "Login attempts by method and outcome.", ["method", "outcome"], registry=r),
        Counter(
            "webapp_wechat_api_calls_total",
            "WeChat API calls by endpoint and errcode.",
            ["endpoint", "errcode"],
            registry=r,
        ),
        Histogram(
            "webapp_wechat_api_duration_seconds",
            "WeChat API call latency.",
            ["endpoint"],
            registry=r,
            buckets=API_BUCKETS,
        ),
        Counter(
            "webapp_refresh_total", "Identities handled by the refresh worker, by outcome.", ["outcome"], registry=r
        ),
        # Set by whichever process ran the last pass; a dead process's value goes with it.
        Gauge(
            "webapp_refresh_oldest_overdue_seconds",
            "Age of the oldest overdue identity after the last refresh pass.",
            registry=r,
            multiprocess_mode="livemostrecent",
        ),
        Counter("webapp_oauth_states_total", "OAuth states by event.", ["event"], registry=r),
        Counter("webapp_throttle_rejections_total", "Requests refused by a throttle, by kind.", ["kind"], registry=r),
        Gauge(
            "webapp_db_pool_connections",
            "Database pool connections by pool and state.",
            ["pool", "state"],
            registry=r,
            multiprocess_mode="livesum",
        ),
        Counter(
            "webapp_http_requests_total",
            "HTTP requests by route name, method and status class.",
            ["route", "method", "status"],
            registry=r,
        ),
        Histogram(
            "webapp_http_request_duration_seconds",
            "HTTP request latency by route name.",
            ["route"],
            registry=r,
            buckets=HTTP_BUCKETS,
        ),
    )


# Metric values belong to the process (in multiprocess mode, to its pid's files), so one set per process is
# the honest shape; it is rebuilt after a fork or when prepare_multiprocess switches the mode.
_lock = threading.Lock()
_built: _Metrics | None = None
_pools: list[tuple[str, Callable[[], tuple[int, int] | None]]] = []
_seen_pools: set[str] = set()


def _metrics() -> _Metrics:
    global _built
    key = (os.getpid(), multiprocess_dir())
    with _lock:
        if _built is None or _built.key != key:
            _built = _build(key)
        return _built


def login(method: str, outcome: str) -> None:
    """Count one login attempt (method: password, wechat_qr, …; outcome: success, failure, throttled, …)."""
    m = _metrics()
    m.logins.labels(L.bounded("method", method, L.LOGIN_METHODS), L.bounded("outcome", outcome, L.LOGIN_OUTCOMES)).inc()


def wechat_call(endpoint: str, errcode: int | str, seconds: float) -> None:
    """Count one WeChat API call (errcode 0 for success, "transport" when no usable answer came) and its time."""
    m = _metrics()
    path = L.bounded("endpoint", endpoint, L.WECHAT_ENDPOINTS)
    m.wechat_calls.labels(path, L.bounded("errcode", errcode, L.WECHAT_ERRCODES)).inc()
    m.wechat_seconds.labels(path).observe(max(seconds, 0.0))


def refresh(outcome: str, n: int = 1) -> None:
    """Count `n` identities the refresh worker refreshed, sent to re-authorisation, failed or skipped."""
    if n > 0:
        _metrics().refresh.labels(L.bounded("outcome", outcome, L.REFRESH_OUTCOMES)).inc(n)


def oldest_overdue(seconds: float | None) -> None:
    """After each refresh pass: how overdue the oldest identity still due is (0 or None: nothing overdue)."""
    _metrics().oldest_overdue.set(max(seconds or 0.0, 0.0))


def oauth_state(event: str, n: int = 1) -> None:
    """Count OAuth states created, completed, expired (purged unused) or rejected."""
    if n > 0:
        _metrics().oauth_states.labels(L.bounded("event", event, L.OAUTH_STATE_EVENTS)).inc(n)


def throttled(kind: str) -> None:
    """Count one request a throttle refused (login_user, login_ip, flow_start, …)."""
    _metrics().throttled.labels(L.bounded("kind", kind, L.THROTTLE_KINDS)).inc()


def http_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one HTTP request by route name (never the path), method and status class, and its time."""
    m = _metrics()
    m.http_requests.labels(route, L.http_method(method), L.status_class(status)).inc()
    m.http_seconds.labels(route).observe(max(seconds, 0.0))


def watch_pool(counts: Callable[[], tuple[int, int] | None], *, pool: str = "sqlalchemy") -> Callable[[], None]:
    """Report a connection pool ((in use, idle), e.g. Database.pool_usage) in webapp_db_pool_connections.

    pool: "sqlalchemy" or "asyncpg". Returns the function that stops reporting it.
    """
    watched = (L.bounded("pool", pool, L.POOLS), counts)
    _pools.append(watched)
    _seen_pools.add(watched[0])

    def unwatch() -> None:
        if watched in _pools:
            _pools.remove(watched)
        sample_pools()

    return unwatch


def sample_pools() -> None:
    """Set the pool gauge from the pools this process watches (each scrape, and a timer in multiprocess mode)."""
    totals = {name: [0, 0] for name in _seen_pools}  # a pool no longer watched drops to 0, not to its last value
    for name, counts in _pools:
        taken = counts()
        if taken is not None:
            totals[name][0] += taken[0]
            totals[name][1] += taken[1]
    for name, (in_use, idle) in totals.items():
        _metrics().pool.labels(name, "in_use").set(in_use)
        _metrics().pool.labels(name, "idle").set(idle)


def multiprocess_dir() -> str | None:
    """PROMETHEUS_MULTIPROC_DIR when this process is one of several sharing their metrics, else None."""
    return os.environ.get(MULTIPROC_ENV) or None


def prepare_multiprocess(directory: str | os.PathLike[str]) -> None:
    """In the parent of `serve --workers N`, before starting children: empty `directory`, share it with them."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(path)


def mark_process_dead(pid: int, directory: str | os.PathLike[str] | None = None) -> None:
    """In the parent, when child `pid` has exited: drop its live gauges (pool connections, refresh age)."""
    path = directory or multiprocess_dir()
    if path:
        multiprocess.mark_process_dead(pid, str(path))


def exposition() -> tuple[bytes, str]:
    """Body and content type of a scrape: this process, or in multiprocess mode every process of the directory."""
    sample_pools()
    m = _metrics()
    if m.key[1] is None:
        return generate_latest(m.registry), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=m.key[1])
    return generate_latest(registry), CONTENT_TYPE_LATEST
