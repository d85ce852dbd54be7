"""Multiprocess mode: several processes count into one directory and any one scrape shows the sum."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp

from tests.observability.helpers import Samples, parse, serve_env, start_serve, value
from webapp.observability import metrics

# The parent of `serve --workers N`, in miniature: count once alone, switch to multiprocess mode,
# fork two children that count and set the gauge, then scrape, drop the dead children's live gauges, scrape.
PARENT = """
import os, sys
from webapp.observability import metrics
metrics.login("password", "success")
metrics.prepare_multiprocess(sys.argv[1])
children = []
for n in (1, 2):
    pid = os.fork()
    if pid == 0:
        metrics.login("password", "success")
        metrics.wechat_call("/sns/userinfo", 0, 0.2 * n)
        metrics.oldest_overdue(60 * n)
        metrics.watch_pool(lambda: (n, 1), pool="asyncpg")
        metrics.sample_pools()
        os._exit(0)
    os.waitpid(pid, 0)
    children.append(pid)
sys.stdout.write(metrics.exposition()[0].decode() + "\\f")
for pid in children:
    metrics.mark_process_dead(pid)
sys.stdout.write(metrics.exposition()[0].decode())
"""


async def run_parent(directory: Path) -> tuple[Samples, Samples]:
    """Run PARENT in a child interpreter; its two scrapes."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", PARENT, str(directory), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    assert proc.returncode == 0, err.decode()
    alive, dead = out.decode().split("\f")
    return parse(alive), parse(dead)


async def test_prepare_multiprocess_makes_forked_children_add_up(tmp_path: Path) -> None:
    (tmp_path / "counter_99999.db").write_bytes(b"stale")  # a previous run's file: prepare empties the directory

    alive, dead = await run_parent(tmp_path)

    assert value(alive, "webapp_logins_total", method="password", outcome="success") == 2  # not the parent's solo count
    assert value(alive, "webapp_wechat_api_calls_total", endpoint="/sns/userinfo", errcode="0") == 2
    assert value(alive, "webapp_wechat_api_duration_seconds_sum", endpoint="/sns/userinfo") == 0.2 + 0.4
    assert value(alive, "webapp_refresh_oldest_overdue_seconds") == 120  # the most recent pass wins
    assert value(alive, "webapp_db_pool_connections", pool="asyncpg", state="in_use") == 3
    assert value(dead, "webapp_logins_total", method="password", outcome="success") == 2  # counters outlive processes
    assert ("webapp_refresh_oldest_overdue_seconds", frozenset()) not in dead  # live gauges do not
    assert value(dead, "webapp_db_pool_connections", pool="asyncpg", state="in_use") == 0


async def test_two_serve_processes_sharing_a_directory_show_the_sum_in_either_scrape(
    serve_database_url: str, tmp_path: Path
) -> None:
    shared = tmp_path / "metrics"
    shared.mkdir()
    env = serve_env(serve_database_url, PROMETHEUS_MULTIPROC_DIR=str(shared))
    first, second = await asyncio.gather(start_serve(env, tmp_path), start_serve(env, tmp_path))
    try:
        async with aiohttp.ClientSession() as http:
            for served, hits in ((first, 2), (second, 3)):
                for _ in range(hits):
                    async with http.get(f"{served.url}/healthz") as response:
                        assert response.status == 200
            scrapes = []
            for served in (second, first):
                async with http.get(f"{served.url}/metrics") as response:
                    assert response.status == 200
                    scrapes.append(parse(await response.text()))
    finally:
        await asyncio.gather(first.stop(), second.stop())
    from_second, from_first = scrapes

    healthz = {"route": "healthz", "method": "GET", "status": "2xx"}
    assert value(from_second, "webapp_http_requests_total", **healthz) == 5
    assert value(from_first, "webapp_http_requests_total", **healthz) == 5
    assert value(from_first, "webapp_http_requests_total", route="metrics", method="GET", status="2xx") == 1
    # Each process writes its own pool figures when scraped (or on its timer); a scrape adds the live ones up.
    idle = [
        v
        for (name, labels), v in from_first.items()
        if name == "webapp_db_pool_connections" and ("state", "idle") in labels
    ]
    assert sum(idle) >= 2


def test_a_single_process_needs_no_directory() -> None:
    assert metrics.multiprocess_dir() is None
    body, content_type = metrics.exposition()
    assert content_type.startswith("text/plain") and b"process_cpu_seconds_total" in body
