"""A long fuzz run of hostile raw requests over every route, by hand (not collected with the suite).

    FUZZ_REQUESTS=50000 FUZZ_SEED=20261207 uv run pytest tests/hardening/fuzz_routes.py -q -s

Runs the generator of `hostile.py` (the one test_hostile_requests.py drives with a few hundred examples)
with a fixed seed against the real site, simulator and PostgreSQL, a few connections at once, and fails
listing the first requests answered with a 500 or a traceback. It prints the count, the seed and the
statuses seen.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter

from tests.hardening.hostile_site import hostile_site
from tests.wechat.harness import World, sim_server, wechat_settings, world  # noqa: F401  (fixtures)

REQUESTS = int(os.environ.get("FUZZ_REQUESTS", "50000"))
SEED = int(os.environ.get("FUZZ_SEED", "20261207"))
CONNECTIONS = int(os.environ.get("FUZZ_CONNECTIONS", "1"))


async def test_a_long_fuzz_run_finds_no_500(world: World) -> None:  # noqa: F811
    site = await hostile_site(world)
    statuses: Counter[int] = Counter()
    failures: list[tuple[str, bytes]] = []

    async def lane(lane_no: int) -> None:
        for index in range(lane_no, REQUESTS, CONNECTIONS):
            rng = random.Random(f"{SEED}:{index}")  # each request reproducible on its own
            raw, status, why = await site.shoot(rng)
            statuses[status] += 1
            if why is not None:
                failures.append((f"request {index}: {why}", raw[:800]))

    await asyncio.gather(*(lane(n) for n in range(CONNECTIONS)))
    print(f"\nfuzz: {sum(statuses.values())} requests, seed {SEED}, {len(failures)} failures, statuses {dict(statuses)}")
    assert not failures, failures[:10]
