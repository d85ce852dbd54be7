"""Debian's pgbouncer in transaction pooling mode in front of the test PostgreSQL, and its admin console."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import pgserver

from .processes import free_port

PGBOUNCER = Path("/usr/sbin/pgbouncer")
# Logged once the listening socket is open.
READY = r"listening on 127\.0\.0\.1:\d+"
ADMIN_USER = "postgres"


@dataclass(frozen=True)
class Bouncer:
    """A configured (not yet started) pgbouncer: its port, files and the user it runs as."""

    directory: Path
    port: int
    database: str
    run_as: str | None

    @property
    def url(self) -> str:
        """DATABASE_URL through pgbouncer."""
        return f"postgresql://{ADMIN_USER}@127.0.0.1:{self.port}/{self.database}"

    @property
    def argv(self) -> list[str]:
        """pgbouncer in the foreground (it refuses to run as root, hence -u)."""
        return [str(PGBOUNCER), *(["-u", self.run_as] if self.run_as else []), str(self.directory / "pgbouncer.ini")]

    def admin(self, command: str) -> list[dict[str, str]]:
        """Run SHOW … on pgbouncer's admin console; one dict per row."""
        result = subprocess.run(
            [psql(), "-h", "127.0.0.1", "-p", str(self.port), "-U", ADMIN_USER, "-X", "-A", "-F", "\t", "-P",
             "footer=off", "-c", command, "pgbouncer"],
            capture_output=True, text=True, timeout=60, check=True,
        )
        header, *rows = result.stdout.splitlines()
        return [dict(zip(header.split("\t"), row.split("\t"), strict=True)) for row in rows]

    def log(self) -> str:
        """pgbouncer's log file so far."""
        path = self.directory / "pgbouncer.log"
        return path.read_text() if path.exists() else ""


def psql() -> str:
    """The psql that ships with pgserver (a dependency), else the system's."""
    bundled = Path(pgserver.__file__).parent / "pginstall" / "bin" / "psql"
    return str(bundled) if bundled.exists() else shutil.which("psql") or "psql"


def configure(server_url: str, database: str) -> Bouncer:
    """Write pgbouncer.ini for `database` on the server at `server_url` (a unix socket or host:port)."""
    url = urlsplit(server_url)
    socket_dir = parse_qs(url.query).get("host", [""])[0]
    host = socket_dir or url.hostname or "127.0.0.1"
    run_as = _socket_owner(socket_dir) if os.geteuid() == 0 else None
    directory = Path(tempfile.mkdtemp(prefix="webapp-test-pgbouncer-", dir="/tmp"))
    bouncer = Bouncer(directory, free_port(), database, run_as)
    user, password = unquote(url.username or ADMIN_USER), unquote(url.password or "")
    server = f"host={host} port={url.port or 5432} dbname={database} user={user}"
    (directory / "userlist.txt").write_text(f'"{ADMIN_USER}" ""\n')
    (directory / "pgbouncer.ini").write_text(
        f"[databases]\n{database} = {server}{f' password={password}' if password else ''}\n\n"
        "[pgbouncer]\n"
        f"listen_addr = 127.0.0.1\nlisten_port = {bouncer.port}\nunix_socket_dir =\n"
        f"auth_type = trust\nauth_file = {directory / 'userlist.txt'}\nadmin_users = {ADMIN_USER}\n"
        "pool_mode = transaction\ndefault_pool_size = 10\nmax_client_conn = 200\n"
        "ignore_startup_parameters = extra_float_digits\n"
        f"logfile = {directory / 'pgbouncer.log'}\npidfile = {directory / 'pgbouncer.pid'}\n"
        "log_connections = 1\nlog_disconnections = 1\n"
    )
    if run_as:
        entry = pwd.getpwnam(run_as)
        for path in [directory, *directory.iterdir()]:
            os.chown(path, entry.pw_uid, entry.pw_gid)
    return bouncer


def _socket_owner(socket_dir: str) -> str:
    """As root, pgbouncer runs as whoever may use the server's socket directory (pgserver's own user)."""
    uid = os.stat(socket_dir).st_uid if socket_dir else 65534
    return pwd.getpwuid(uid).pw_name
