"""The `webapp` command: dev, serve, worker, migrate, simulator, check-config."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence

from dotenv import load_dotenv

from webapp import eventloop
from webapp.settings import ConfigError, Settings


def build_parser() -> argparse.ArgumentParser:
    """Arguments of every sub-command."""
    parser = argparse.ArgumentParser(prog="webapp", description="A site with its own accounts and WeChat login.")
    sub = parser.add_subparsers(dest="command", required=True)
    dev = sub.add_parser("dev", help="everything on one machine: database, simulator, site, worker")
    dev.add_argument("--port", type=int, default=8080)
    dev.add_argument("--sim-port", type=int, default=8081)
    dev.add_argument("--sim-host", default="127.0.0.1", help="0.0.0.0 to scan the QR with a phone on your network")
    serve = sub.add_parser(
        "serve",
        help="the site (production)",
        description="Serve the site. With --workers N, N processes share the port (SO_REUSEPORT) to use every "
        "core, and the token refresh worker runs once per host, in the supervising process. SIGTERM stops "
        "them all within 15 s; requests in flight finish first.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument(
        "--workers", type=_positive, default=1, metavar="N",
        help=f"site processes on the one port (default 1; use the number of cores, e.g. {os.cpu_count() or 1} here)",
    )
    serve.add_argument("--no-worker", action="store_true", help="do not run the token refresh worker in-process")
    serve.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)  # a child of --workers
    worker = sub.add_parser("worker", help="the token refresh worker alone")
    worker.add_argument("--once", action="store_true", help="refresh everything due now, then exit")
    worker.add_argument("--metrics-port", type=int, metavar="P", help="also answer GET /metrics on this port")
    worker.add_argument("--metrics-host", default="127.0.0.1", metavar="H",
                        help="address of --metrics-port (default 127.0.0.1; 0.0.0.0 for all)")
    sub.add_parser("migrate", help="alembic upgrade head against the configured database")
    sim = sub.add_parser("simulator", help="the WeChat simulator alone")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=8081)
    check = sub.add_parser("check-config", help="validate the configuration and say exactly what is wrong")
    check.add_argument("--online", action="store_true",
                       help="also ask WeChat (WECHAT_API_BASE) whether each app's AppID and secret are right")
    from webapp.admin.commands import add_parsers as add_admin_parsers

    add_admin_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    load_dotenv(".env", override=False)
    from webapp.observability.logs import configure_logging  # observability: LOG_FORMAT text/json, escaped values

    # Long-running commands print banners; under LOG_FORMAT=json those lines must be JSON too.
    configure_logging(Settings.from_env(os.environ), capture_stdout=args.command in ("serve", "worker", "dev", "simulator"))
    # aiohttp-session keys requests with plain strings; harmless, and not ours to change.
    warnings.filterwarnings("ignore", category=Warning, module="aiohttp_session")
    command = args.command.replace("-", "_")
    return int(globals()[f"cmd_{command}"](args) or 0)


def cmd_dev(args: argparse.Namespace) -> int:
    """Run the embedded database, simulator, site and worker together."""
    from webapp.devserver import run_dev

    return run_dev(site_port=args.port, sim_host=args.sim_host, sim_port=args.sim_port)


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the site after refusing unsafe configuration."""
    from webapp.serve import run_supervisor, serve_one

    settings = _production_settings()
    if settings is None:
        return 2
    if args.workers > 1:
        return run_supervisor(settings, host=args.host, port=args.port, workers=args.workers, run_worker=not args.no_worker)
    settings = settings.with_(run_worker=not args.no_worker)
    return eventloop.run(serve_one(settings, host=args.host, port=args.port, reuse_port=args.reuse_port),
                         loop=settings.event_loop)


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return number


def cmd_worker(args: argparse.Namespace) -> int:
    """Run the refresh worker alone."""
    from webapp.wechat.worker import run_worker

    settings = _production_settings()
    if settings is None:
        return 2
    return eventloop.run(run_worker(settings, once=args.once, metrics_port=args.metrics_port, metrics_host=args.metrics_host), loop=settings.event_loop)


def cmd_migrate(args: argparse.Namespace) -> int:
    """alembic upgrade head."""
    from webapp.migrations import upgrade_head

    url = os.environ.get("DATABASE_URL")
    if not url:
        from webapp.devserver import embedded_database_url

        url = embedded_database_url()
    upgrade_head(url)
    print("database is at the latest migration")
    return 0


def cmd_simulator(args: argparse.Namespace) -> int:
    """Serve the WeChat simulator alone."""
    from webapp.wechat_sim.serve import run_simulator

    print(f"WeChat simulator on http://{args.host}:{args.port}/ (apps, test users and how to try each flow)")
    run_simulator(args.host, args.port)
    return 0


def cmd_check_config(args: argparse.Namespace) -> int:
    """Print every configuration problem and what to enter in WeChat's consoles."""
    from webapp.configcheck import report
    from webapp.configcheck_online import probe

    settings = Settings.from_env(os.environ)
    online = eventloop.run(probe(settings), loop=settings.event_loop) if args.online else None
    ok, text = report(settings, online)
    print(text)
    return 0 if ok else 1


def cmd_admin(args: argparse.Namespace) -> int:
    """Support desk commands on one account (webapp.admin)."""
    from webapp.admin.commands import run_admin

    return run_admin(args)


def cmd_rotate_keys(args: argparse.Namespace) -> int:
    """Re-encrypt every stored token under the first TOKEN_KEYS key (webapp.admin)."""
    from webapp.admin.commands import run_rotate_keys

    return run_rotate_keys(args)


def _production_settings() -> Settings | None:
    settings = Settings.from_env(os.environ)
    try:
        settings.validate()
    except ConfigError as exc:
        print("Refusing to start: the configuration is unsafe.", file=sys.stderr)
        for problem in exc.problems:
            print(f"  - {problem}", file=sys.stderr)
        print("Run `webapp check-config` for the full report.", file=sys.stderr)
        return None
    if not settings.database_url:
        print("Refusing to start: DATABASE_URL is not set (only `webapp dev` runs an embedded database).", file=sys.stderr)
        return None
    return settings
