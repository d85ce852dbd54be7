"""deploy/systemd/*.service: valid for systemd, hardened, and every `webapp …` line is one our CLI accepts."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from webapp.cli import build_parser

from .cli import REPO

UNITS = sorted((REPO / "deploy" / "systemd").glob("*.service"))
ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(ANALYZE is None, reason="systemd-analyze is not installed (Debian's systemd package)")


def rendered(tmp_path: Path) -> list[Path]:
    """The units with /srv/webapp pointing at this checkout and its virtualenv, and a real EnvironmentFile."""
    env_file = tmp_path / "webapp.env"
    env_file.write_text((REPO / "deploy" / "systemd" / "webapp.env.example").read_text())
    out = []
    for unit in UNITS:
        text = unit.read_text().replace("/srv/webapp/.venv/bin/webapp", str(Path(sys.executable).with_name("webapp")))
        text = text.replace("/srv/webapp", str(REPO)).replace("/etc/webapp/webapp.env", str(env_file))
        (tmp_path / unit.name).write_text(text)
        out.append(tmp_path / unit.name)
    return out


def exec_lines(unit: Path) -> list[list[str]]:
    """The argv of every Exec*= line."""
    lines = [line.split("=", 1)[1] for line in unit.read_text().splitlines() if line.startswith("Exec")]
    return [shlex.split(line.lstrip("-+!@:")) for line in lines]


def test_the_three_units_are_there() -> None:
    assert [u.name for u in UNITS] == ["webapp-migrate.service", "webapp-worker.service", "webapp.service"]


@pytest.mark.parametrize("unit", UNITS, ids=lambda u: u.name)
def test_every_webapp_command_line_in_a_unit_is_accepted_by_the_cli(unit: Path) -> None:
    commands = [argv for argv in exec_lines(unit) if argv[0].endswith("/webapp")]
    assert commands, f"{unit.name} runs no webapp command"
    for argv in commands:
        build_parser().parse_args(argv[1:])  # exits 2 (SystemExit) on an unknown option


@needs_analyze
def test_systemd_analyze_verify_finds_nothing_to_say(tmp_path: Path) -> None:
    units = rendered(tmp_path)
    result = subprocess.run([ANALYZE, "verify", *map(str, units)], capture_output=True, text=True, timeout=120, check=False)  # type: ignore[list-item]
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@needs_analyze
@pytest.mark.parametrize("name", ["webapp.service", "webapp-worker.service", "webapp-migrate.service"])
def test_units_are_hardened(tmp_path: Path, name: str) -> None:
    unit = next(u for u in rendered(tmp_path) if u.name == name)
    probe = subprocess.run([ANALYZE, "security", "--help"], capture_output=True, text=True, timeout=60, check=False)  # type: ignore[list-item]
    if "--offline" not in probe.stdout:
        pytest.skip("this systemd-analyze cannot judge a unit file offline (systemd < 250)")
    # Exposure is scored 0.0-10.0; the threshold is in tenths: fail above 2.5 ("OK" is below 3.0).
    result = subprocess.run(
        [ANALYZE, "security", "--offline=true", "--threshold=25", "--no-pager", str(unit)],  # type: ignore[list-item]
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr
    text = unit.read_text()
    for option in ("NoNewPrivileges=yes", "ProtectSystem=strict", "PrivateTmp=yes", "EnvironmentFile="):
        assert option in text
