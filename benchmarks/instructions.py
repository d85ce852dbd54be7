"""Server instructions per returning QR-login round and per GET /api/me, counted by cachegrind.

    uv run --group bench python benchmarks/instructions.py [CHECKOUT ...]

Timed figures on a shared 2-core machine move by a tenth from run to run; an instruction count moves by
about 1%, so it tells whether a change to the request path saves anything. Each CHECKOUT (a directory
holding a copy of the site, e.g. a `git worktree`; default: this one) is served by `python -m webapp
serve --no-worker` under `valgrind --tool=cachegrind --cache-sim=no`, once for LOW and once for HIGH
operations after the same warm-up: the difference over HIGH - LOW is the server's user-space
instructions per operation, start-up and shut-down cancelled out. The clients, the simulator and
PostgreSQL run outside valgrind; one operation at a time, so no batching blurs the count. Kernel time
(system calls) is not counted. `/api/me` is also counted on the bare handler making the same query
(benchmarks/bare_server.py), the ratio the README's Performance section quotes.

Needs Debian's `valgrind` (`apt-get install valgrind`). About a minute per checkout and operation.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import aiohttp

from benchmarks.browser import ME_PATH, Endpoints, expect, qr_login
from benchmarks.database import Database, asyncpg_dsn, embedded_database
from benchmarks.processes import REPO_ROOT, Child, base_env, free_port, start_python
from benchmarks.stack import Secrets, site_env, start_simulator, started, write_fixture
from benchmarks.web_phases import logged_in_session, loopback_connector, measure_rounds

USERS = 40  # the returning users the login rounds cycle through
WARM_UP = 20  # operations before the counted ones, in both runs
_REFS = re.compile(r"I\s+refs:\s+([\d,]+)")

Operation = Callable[[Endpoints, int], Awaitable[None]]


async def login_rounds(ends: Endpoints, n: int) -> None:
    """n returning-user QR-login rounds (start, callback, /api/me), one at a time."""
    result = await measure_rounds(partial(qr_login, ends=ends, new=False), range(1, USERS + 1), concurrency=1,
                                  duration_s=3600.0, max_ops=n)
    if result.errors:
        raise RuntimeError(f"login rounds failed: {result.error_samples}")


async def me_requests(cookies: dict[str, str], ends: Endpoints, n: int) -> None:
    """n GET /api/me with a logged-in session's cookies, one at a time."""
    header = {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())}
    async with aiohttp.ClientSession(connector=loopback_connector(1), cookie_jar=aiohttp.DummyCookieJar(),
                                     headers=header) as http:
        for _ in range(n):
            async with http.get(ends.site + ME_PATH) as resp:
                await expect(resp, 200, f"GET {ME_PATH}")
                await resp.read()


async def counted(start: Callable[[], Awaitable[Child]], operation: Operation, ends: Endpoints,
                  low: int, high: int) -> float:
    """Instructions per operation: a server started twice under cachegrind, the runs' difference over high - low."""
    totals = []
    for n in (low, high):
        child = await start()
        try:
            here = Endpoints(child.url, ends.sim)
            await operation(here, WARM_UP)
            await operation(here, n)
        finally:
            child.stop(timeout=120.0)
        found = _REFS.findall(child.log.read_text(errors="replace"))
        if not found:
            raise RuntimeError(f"no cachegrind total in {child.log}")
        totals.append(int(found[-1].replace(",", "")))
    return (totals[1] - totals[0]) / (high - low)


def _start(name: str, args: list[str], env: dict[str, str], work: Path, url: str, cwd: Path, *, counted: bool) -> Child:
    """`python <args>`, under cachegrind when `counted` (its total goes to the child's log)."""
    if not counted:
        return start_python(name, args, env, work, url, cwd=cwd)
    valgrind = shutil.which("valgrind") or "valgrind"
    grind = ["--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null", sys.executable, *args]
    return start_python(f"{name}-counted", grind, env, work, url, python=valgrind, cwd=cwd)


async def run(db: Database, checkouts: list[Path], low: int, high: int) -> None:
    """Print the counts of every checkout, then the bare handler's."""
    work = Path(tempfile.mkdtemp(prefix="webapp-instructions-"))
    keys = Secrets.fresh()
    sim = await start_simulator(write_fixture(work / "fixture.json", USERS), work)
    try:
        async def site(checkout: Path, *, counted: bool = True) -> Child:
            port = free_port()
            url = f"http://localhost:{port}"
            env = site_env(db.url, sim.url, url, keys) | {"PYTHONHASHSEED": "0"}
            args = ["-m", "webapp", "serve", "--host", "127.0.0.1", "--port", str(port), "--no-worker"]
            return await started(_start("site", args, env, work, url, checkout, counted=counted), "/healthz", timeout=300.0)

        first = await site(checkouts[0], counted=False)  # the users' first logins, not counted
        try:
            ends = Endpoints(first.url, sim.url)
            await measure_rounds(partial(qr_login, ends=ends, new=True), range(1, USERS + 1), concurrency=1,
                                 duration_s=3600.0, max_ops=USERS)
            cookies, body = await logged_in_session(ends, 1)
        finally:
            first.stop()
        ends = Endpoints("", sim.url)
        for checkout in checkouts:
            start = partial(site, checkout)
            login = await counted(start, login_rounds, ends, low, high)
            me = await counted(start, partial(me_requests, cookies), ends, low * 2, high * 2)
            print(f"{checkout}: {login:,.0f} per returning QR-login round, {me:,.0f} per GET /api/me", flush=True)

        async def bare() -> Child:
            port = free_port()
            env = base_env(BENCH_BODY=json.dumps(body), BENCH_DATABASE_URL=asyncpg_dsn(db.url),
                           PYTHONHASHSEED="0")
            args = ["-m", "benchmarks.bare_server", str(port)]
            child = _start("bare-query", args, env, work, f"http://127.0.0.1:{port}", REPO_ROOT, counted=True)
            return await started(child, ME_PATH, timeout=300.0)

        floor = await counted(bare, partial(me_requests, cookies), ends, low * 2, high * 2)
        print(f"bare handler + the session query: {floor:,.0f} per GET /api/me", flush=True)
    finally:
        sim.stop()
        shutil.rmtree(work, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("checkouts", nargs="*", type=Path, default=[REPO_ROOT],
                        help="directories holding a copy of the site (default: this one)")
    parser.add_argument("--low", type=int, default=50, help="login rounds of the shorter run (/api/me: twice)")
    parser.add_argument("--high", type=int, default=250, help="login rounds of the longer run (/api/me: twice)")
    args = parser.parse_args(argv)
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: apt-get install valgrind", file=sys.stderr)
        return 2
    with embedded_database() as db:  # migrated before any event loop runs (alembic starts its own)
        asyncio.run(run(db, [p.resolve() for p in args.checkouts], args.low, args.high))
    return 0


if __name__ == "__main__":
    sys.exit(main())
