"""argparse for `webapp admin user …` and `webapp rotate-keys`; exit 0 done, 1 refused, 2 bad configuration."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Awaitable, Callable
from typing import Any

# Kept here, not in lookup.py: building the `webapp` parser must not import SQLAlchemy's models.
WHO_HELP = (
    "WHO is a user id, a username, an openid or a unionid. A bare value is looked up as all four and "
    "refused when it names more than one account; say which with a prefix: id:7, username:alice, "
    "openid:oAbc…, unionid:oXyz…"
)
ACTIONS = {
    "disable": "disable the account: no login by any method, and its sessions end at once",
    "enable": "allow a disabled account to log in again",
    "unbind": "remove its WeChat identities (refused when it has no password: no way left to log in)",
    "logout": "end all its sessions",
}


def add_parsers(sub: Any) -> None:
    """Add `admin` and `rotate-keys` to the `webapp` command's sub-parsers."""
    admin = sub.add_parser("admin", help="support desk: look up an account and act on it", description=WHO_HELP)
    user = admin.add_subparsers(dest="admin_command", required=True).add_parser(
        "user", help="one account", description=WHO_HELP
    )
    actions = user.add_subparsers(dest="action", required=True)
    show = actions.add_parser("show", help="profile, WeChat identities, sessions, security activity", description=WHO_HELP)
    show.add_argument("who", metavar="WHO", help="id, username, openid or unionid, optionally prefixed (id:7)")
    show.add_argument("--json", action="store_true", help="one JSON object (a superset of /api/me)")
    for action, text in ACTIONS.items():
        parser = actions.add_parser(action, help=text, description=f"{text[0].upper()}{text[1:]}. {WHO_HELP}")
        parser.add_argument("who", metavar="WHO", help="id, username, openid or unionid, optionally prefixed (id:7)")
    rotate = sub.add_parser(
        "rotate-keys",
        help="re-encrypt every stored token under the first TOKEN_KEYS key",
        description="Re-encrypt every value encrypted with TOKEN_KEYS under the first key: in short batches, "
        "online, resumable. Exits 1 if a value decrypts with none of the keys.",
    )
    rotate.add_argument("--batch-size", type=int, default=500, help="rows per transaction (default 500)")


def run_admin(args: argparse.Namespace) -> int:
    """`webapp admin user ACTION WHO`."""
    from webapp.admin import users
    from webapp.admin.errors import AdminError

    async def act(sm: Any, now: Any) -> int:
        if args.action == "show":
            return _show(await users.user_report(sm, args.who, now=now), as_json=args.json)
        change = await getattr(users, f"{args.action}_user")(sm, args.who, now=now)
        print(_describe(args.action, change))
        return 0

    try:
        return _with_database(act, needs_keys=False)
    except AdminError as exc:
        print(f"webapp admin: {exc}", file=sys.stderr)
        return 1


def run_rotate_keys(args: argparse.Namespace) -> int:
    """`webapp rotate-keys`: print per-column counts; 1 when a value cannot be decrypted."""
    from webapp.admin.rotation import rotate_keys

    if args.batch_size < 1:
        print("webapp rotate-keys: --batch-size must be at least 1", file=sys.stderr)
        return 2

    async def act(sm: Any, now: Any) -> int:
        keys = _settings().token_keys
        print(f"Re-encrypting under the first of {len(keys)} TOKEN_KEYS key(s), {args.batch_size} rows per batch.")
        reports = await rotate_keys(sm, keys, batch_size=args.batch_size)
        for report in reports:
            print(report, flush=True)
        return _rotation_verdict(
            sum(r.undecryptable for r in reports), sum(r.changed for r in reports), sum(r.rotated for r in reports)
        )

    return _with_database(act, needs_keys=True)


def _rotation_verdict(undecryptable: int, changed: int, rotated: int) -> int:
    if undecryptable:
        print(
            f"{undecryptable} value(s) decrypt with none of the TOKEN_KEYS keys (was a key dropped too early?). "
            "They were left as they are; put the missing key back at the end of TOKEN_KEYS and run again.",
            file=sys.stderr,
        )
        return 1
    if changed:
        print(f"{changed} value(s) were rewritten by the site meanwhile; run `webapp rotate-keys` again to confirm.")
    else:
        print(f"Done: {rotated} value(s) re-encrypted; every value is under the first key.")
    return 0


def _with_database(act: Callable[[Any, Any], Awaitable[int]], *, needs_keys: bool) -> int:
    """Check the configuration this command needs, then run `act(sessionmaker, now)`."""
    import asyncpg
    from sqlalchemy.exc import SQLAlchemyError

    from webapp.admin.database import open_sessionmaker
    from webapp.clock import utcnow

    settings = _settings()
    wanted = ("DATABASE_URL", "DATABASE_POOL_MODE") + (("TOKEN_KEYS",) if needs_keys else ())
    problems = [p for p in settings.problems() if p.startswith(wanted)]
    if problems:
        print("The configuration is not usable:", *(f"  - {p}" for p in problems), sep="\n", file=sys.stderr)
        return 2

    async def run() -> int:
        async with open_sessionmaker(settings) as sm:
            return await act(sm, utcnow())

    try:
        return asyncio.run(run())
    except (OSError, SQLAlchemyError, asyncpg.PostgresError) as exc:
        print(f"webapp: the database failed: {_brief(exc)}", file=sys.stderr)
        return 1


def _brief(exc: BaseException) -> str:
    """The error's kind and first line, never the SQL or its parameters."""
    cause = getattr(exc, "orig", None) or exc
    first = (str(cause).splitlines() or [""])[0][:200]
    return f"{type(cause).__name__}: {first}"


def _settings() -> Any:
    from webapp.settings import Settings

    return Settings.from_env(os.environ)


def _show(report: Any, *, as_json: bool) -> int:
    from webapp.admin.report import report_json, report_text

    print(json.dumps(report_json(report), ensure_ascii=False) if as_json else report_text(report))
    return 0


def _describe(action: str, change: Any) -> str:
    user = f"user {change.user_id}"
    if action == "disable":
        state = "disabled" if change.changed else "was already disabled"
        return f"{user} {state}; {change.sessions_ended} session(s) ended"
    if action == "enable":
        return f"{user} {'enabled' if change.changed else 'was not disabled'}"
    if action == "unbind":
        return f"{user}: {change.identities_removed} WeChat identit(y/ies) removed" if change.changed else f"{user} has no WeChat identity"
    return f"{user}: {change.sessions_ended} session(s) ended"
