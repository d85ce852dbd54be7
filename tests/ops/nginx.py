"""Debian's nginx with deploy/nginx/webapp.conf rendered for a test: self-signed TLS, free ports, temp prefix."""

from __future__ import annotations

import datetime as dt
import grp
import ipaddress
import os
import pwd
import re
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .cli import REPO
from .processes import free_port

NGINX = Path("/usr/sbin/nginx")
TEMPLATE = REPO / "deploy" / "nginx" / "webapp.conf"
# nginx logs this once its sockets are bound and its worker is starting.
READY = r"start worker process"


@dataclass(frozen=True)
class NginxSite:
    """Where a rendered nginx listens and logs."""

    prefix: Path
    https_port: int
    http_port: int
    cert: Path

    @property
    def public_url(self) -> str:
        """PUBLIC_URL for the site behind it."""
        return f"https://localhost:{self.https_port}"

    @property
    def access_log(self) -> Path:
        """nginx's access log (format `webapp`)."""
        return self.prefix / "webapp.access.log"

    @property
    def argv(self) -> list[str]:
        """The command line that runs it in the foreground."""
        return [str(NGINX), "-p", str(self.prefix), "-c", str(self.prefix / "nginx.conf"), "-e", "stderr"]

    def log_lines(self) -> list[str]:
        """The access log so far."""
        return self.access_log.read_text().splitlines() if self.access_log.exists() else []


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A throwaway certificate for localhost and 127.0.0.1; returns (cert, key) paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    key_path.chmod(0o600)
    return cert_path, key_path


def render(template: str, values: dict[str, str]) -> str:
    """Replace every @@NAME@@; fail on one the test did not fill."""
    text = template
    for name, value in values.items():
        text = text.replace(f"@@{name}@@", value)
    left = set(re.findall(r"@@[A-Z_]+@@", text))
    assert not left, f"placeholders left in {TEMPLATE.name}: {sorted(left)}"
    return text


def prepare(prefix: Path, upstream_ports: list[int]) -> NginxSite:
    """Render the site config into a complete nginx.conf under `prefix` (temp dirs, pid, logs there too)."""
    cert, key = self_signed(prefix)
    site = NginxSite(prefix, free_port(), free_port(), cert)
    conf = render(TEMPLATE.read_text(), {
        "SERVER_NAME": "localhost", "PUBLIC_URL": site.public_url,
        "HTTP_LISTEN": f"127.0.0.1:{site.http_port}", "HTTPS_LISTEN": f"127.0.0.1:{site.https_port}",
        "TLS_CERT": str(cert), "TLS_KEY": str(key), "STATIC_ROOT": str(REPO / "static"), "LOG_DIR": str(prefix),
        "UPSTREAM_SERVERS": "\n    ".join(f"server 127.0.0.1:{p};" for p in upstream_ports),
    })
    temp = "\n".join(f"    {kind}_temp_path {prefix / kind};" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    (prefix / "nginx.conf").write_text(
        f"daemon off;\nmaster_process on;\nworker_processes 1;\npid {prefix / 'nginx.pid'};\n"
        f"error_log stderr notice;\n{_user()}events {{ worker_connections 256; }}\n"
        f"http {{\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n{temp}\n{conf}\n}}\n"
    )
    return site


def _user() -> str:
    """Run the worker as ourselves (as root nginx would switch to nobody, who cannot read pytest's tmp dirs)."""
    if os.geteuid() != 0:
        return ""
    return f"user {pwd.getpwuid(os.getuid()).pw_name} {grp.getgrgid(os.getgid()).gr_name};\n"
