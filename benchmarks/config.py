"""What one run measures: the command line of `benchmarks/run.py`, with --quick lowering every default."""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_JSON = REPO_ROOT / "benchmarks" / "results" / "latest.json"
PROFILE_PHASES = ("returning", "new", "silent", "me")


@dataclass(frozen=True)
class Config:
    """Seconds per timed phase, load concurrency, population sizes, and which optional phases run."""

    duration_s: float
    concurrency: int
    users: int  # the returning-user cohort: each logs in once (the new-user phase), then again and again
    mp_users: int  # of those, how many also log in inside WeChat (silent logins cycle over them)
    identities: int  # due identities for the refresh worker
    site_workers: int  # `webapp serve --workers N` for the every-core phase
    peer: bool  # the Django peer and the async peer
    peer_users: int
    million: bool
    million_users: int
    quick: bool
    json_path: Path
    profile: str | None = None  # run only this phase under py-spy


def parse_args(argv: list[str] | None = None) -> Config:
    """The command line."""
    parser = argparse.ArgumentParser(description="Benchmark the site beside a bare handler, the simulator, a "
                                     "Django peer and an async peer; print the figures and write them as JSON.")
    add = parser.add_argument
    add("--quick", action="store_true", help="smoke run: 4 s phases, 200 users, 5,000 identities, 100 peer users, "
        "no 1M")
    add("--duration", type=float, help="seconds per timed load phase (default 15, quick 4)")
    add("--concurrency", type=int, default=16, help="clients in flight in every load phase (default 16)")
    add("--users", type=int, help="returning-user cohort, logged in first as new users (default 1000, quick 200)")
    add("--identities", type=int, help="due identities the refresh worker refreshes (default 100000, quick 5000)")
    add("--workers", type=int, default=os.cpu_count() or 1, help="processes of `webapp serve --workers N` "
        "(default: the CPU count)")
    add("--peer", action=argparse.BooleanOptionalAction, default=True, help="run the Django peer and the async "
        "peer (default on)")
    add("--peer-users", type=int, help="each peer's returning-user cohort (default 300, quick 100)")
    add("--million", action=argparse.BooleanOptionalAction, help="measure again with 1,000,000 users in the "
        "database (default on, off with --quick)")
    add("--million-users", type=int, default=1_000_000, help="the large database's users (default 1,000,000)")
    add("--profile", nargs="?", const="returning", choices=PROFILE_PHASES, help="only profile the site with "
        "py-spy during one phase (default: returning QR logins) and print its top lines")
    add("--json", type=Path, default=DEFAULT_JSON, help=f"where to write the JSON ({DEFAULT_JSON})")
    args = parser.parse_args(argv)
    quick = args.quick
    duration = args.duration if args.duration is not None else (4.0 if quick else 15.0)
    users = args.users if args.users is not None else (200 if quick else 1000)
    identities = args.identities if args.identities is not None else (5_000 if quick else 100_000)
    peer_users = min(users, args.peer_users if args.peer_users is not None else (100 if quick else 300))
    if min(duration, users, identities, args.concurrency, args.workers, peer_users, args.million_users) <= 0:
        parser.error("durations, counts and concurrency must be positive")
    return Config(
        duration_s=duration, concurrency=args.concurrency, users=users, mp_users=min(users, 50 if quick else 200),
        identities=identities, site_workers=args.workers,
        peer=args.peer, peer_users=peer_users,
        million=args.million if args.million is not None else not quick, million_users=args.million_users,
        quick=quick, json_path=args.json, profile=args.profile,
    )
