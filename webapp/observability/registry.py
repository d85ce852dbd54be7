"""The metric definitions, one set per process, and the switch to prometheus_client's multiprocess mode.

One process (`serve`, `dev`, `worker`, tests): values live in memory. `serve --workers N`: the parent calls
prepare_multiprocess(dir) before it starts any child; each child writes its values to its own files there
and a scrape of any child adds up every process.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
API_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0)
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Metrics:
    """Every metric of the site, as this process records them."""

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
    # Children of the two HTTP metrics by (route, method, status class): labels() hashes and locks each
    # time, and a busy site asks for the same few dozen pairs thousands of times a second. Bounded: route
    # names are the site's own, methods and status classes fixed sets (webapp.observability.labels).
    http_children: dict[tuple[str, str, str], tuple[Counter, Histogram]] = field(default_factory=dict, compare=False)
    # The same for the other labelled metrics a request counts (logins, states, WeChat calls), by the
    # metric's name and its label values, every one from a fixed set.
    children: dict[tuple[str, ...], Any] = field(default_factory=dict, compare=False)


def _build(key: tuple[int, str | None]) -> Metrics:
    # prometheus_client picks memory or files per value from this class, read when a value is created.
    if key[1] and not getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MultiProcessValue()
    elif not key[1] and getattr(values.ValueClass, "_multiprocess", False):
        values.ValueClass = values.MutexValue
    disable_created_metrics()  # the *_created series double every counter for nothing we use
    r = CollectorRegistry()
    if not key[1]:
        ProcessCollector(registry=r)
    return Metrics(
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
_built: Metrics | None = None
_env_dir: str | None = None  # PROMETHEUS_MULTIPROC_DIR as last read (multiprocess_dir)
_pid = os.getpid()  # kept current by a fork hook: os.getpid() is a system call, and this runs several times a request


def _forked() -> None:
    global _pid
    _pid = os.getpid()
    multiprocess_dir()


os.register_at_fork(after_in_child=_forked)


def current() -> Metrics:
    """This process's metrics, built on first use."""
    global _built
    built = _built
    if built is not None and built.key[0] == _pid and built.key[1] == _env_dir:
        return built  # several times a request: no environment read (prepare_multiprocess updates _env_dir)
    key = (_pid, multiprocess_dir())
    with _lock:
        if _built is None or _built.key != key:
            _built = _build(key)
        return _built


def multiprocess_dir() -> str | None:
    """PROMETHEUS_MULTIPROC_DIR when this process is one of several sharing their metrics, else None."""
    global _env_dir
    _env_dir = os.environ.get(MULTIPROC_ENV) or None
    return _env_dir


def prepare_multiprocess(directory: str | os.PathLike[str]) -> None:
    """In the parent of `serve --workers N`, before starting children: empty `directory`, share it with them."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
    os.environ[MULTIPROC_ENV] = str(path)
    multiprocess_dir()  # current() compares with what was last read


def mark_process_dead(pid: int, directory: str | os.PathLike[str] | None = None) -> None:
    """In the parent, when child `pid` has exited: drop its live gauges (pool connections, refresh age)."""
    path = directory or multiprocess_dir()
    if path:
        multiprocess.mark_process_dead(pid, str(path))


def collect() -> tuple[bytes, str]:
    """Body and content type of a scrape: this process, or in multiprocess mode every process of the directory."""
    m = current()
    if m.key[1] is None:
        return generate_latest(m.registry), CONTENT_TYPE_LATEST
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, path=m.key[1])
    return generate_latest(registry), CONTENT_TYPE_LATEST
