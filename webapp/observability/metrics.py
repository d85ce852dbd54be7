"""Prometheus metrics: the typed calls the site makes, safe in any process (see registry for multiprocess mode)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from webapp.observability import labels as L
from webapp.observability.registry import Metrics, mark_process_dead, multiprocess_dir, prepare_multiprocess
from webapp.observability.registry import collect as _collect
from webapp.observability.registry import current as _metrics

__all__ = [
    "PoolCounts",
    "exposition",
    "http_request",
    "login",
    "mark_process_dead",
    "multiprocess_dir",
    "oauth_state",
    "oldest_overdue",
    "prepare_multiprocess",
    "refresh",
    "sample_pools",
    "throttled",
    "watch_pool",
    "wechat_call",
]


class PoolCounts(NamedTuple):
    """Connections of one pool: checked out by a task, and idle in the pool."""

    in_use: int
    idle: int


_pools: list[tuple[str, Callable[[], tuple[int, int] | None]]] = []
_seen_pools: set[str] = set()


def login(method: str, outcome: str) -> None:
    """Count one login attempt (method: password, wechat_qr, …; outcome: success, failure, throttled, …)."""
    m = _metrics()
    _child(m, "logins", L.bounded("method", method, L.LOGIN_METHODS), L.bounded("outcome", outcome, L.LOGIN_OUTCOMES)).inc()


def wechat_call(endpoint: str, errcode: int | str, seconds: float) -> None:
    """Count one WeChat API call (errcode 0 for success, "transport" when no usable answer came) and its time."""
    m = _metrics()
    path = L.bounded("endpoint", endpoint, L.WECHAT_ENDPOINTS)
    _child(m, "wechat_calls", path, L.bounded("errcode", errcode, L.WECHAT_ERRCODES)).inc()
    _child(m, "wechat_seconds", path).observe(max(seconds, 0.0))


def _child(m: Metrics, metric: str, *values: str) -> Any:
    """The child of the metric `m.<metric>` for these label values, kept (labels() validates and locks each time)."""
    key = (metric, *values)
    child = m.children.get(key)
    if child is None:
        child = m.children[key] = getattr(m, metric).labels(*values)
    return child


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
        m = _metrics()
        _child(m, "oauth_states", L.bounded("event", event, L.OAUTH_STATE_EVENTS)).inc(n)


def throttled(kind: str) -> None:
    """Count one request a throttle refused (login_user, login_ip, flow_start, …)."""
    _metrics().throttled.labels(L.bounded("kind", kind, L.THROTTLE_KINDS)).inc()


def http_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one HTTP request by route name (never the path), method and status class, and its time."""
    m = _metrics()
    key = (route, L.http_method(method), L.status_class(status))
    children = m.http_children.get(key)
    if children is None:
        children = m.http_children[key] = (m.http_requests.labels(*key), m.http_seconds.labels(route))
    children[0].inc()
    children[1].observe(max(seconds, 0.0))


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


def exposition() -> tuple[bytes, str]:
    """Body and content type of a scrape: this process, or in multiprocess mode every process of the directory."""
    sample_pools()
    return _collect()
