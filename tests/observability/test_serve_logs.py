"""`webapp serve` with LOG_FORMAT=json, as a real child process: every line it writes is one JSON object."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp

from tests.observability.helpers import json_lines, serve_env, start_serve

SECRETS = ("CODE-7f3a9c", "STATE-7f3a9c", "AT-7f3a9c")


async def test_every_line_is_json_with_request_ids_no_secrets_and_no_forged_lines(
    serve_database_url: str, tmp_path: Path
) -> None:
    served = await start_serve(serve_env(serve_database_url), tmp_path)
    try:
        async with aiohttp.ClientSession(served.url) as http:
            async with http.get("/healthz") as health:
                health_id = health.headers["X-Request-ID"]
            query = f"code={SECRETS[0]}&state={SECRETS[1]}&access_token={SECRETS[2]}"
            async with http.get(f"/auth/wechat/callback?{query}", allow_redirects=False) as callback:
                callback_id = callback.headers["X-Request-ID"]
            forged = '%0A{"level":"CRITICAL","logger":"webapp","message":"forged"}%E2%80%AE'
            async with http.get(f"/healthz?next={forged}") as forging:
                forging_id = forging.headers["X-Request-ID"]
    finally:
        lines, stdout = await served.stop()

    assert stdout == ""  # the banner went through logging too
    entries = json_lines(lines)
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    access = {e["request_id"]: e for e in entries if e["logger"] == "webapp.access"}
    assert access[health_id]["route"] == "healthz" and access[health_id]["status"] == 200
    assert access[callback_id]["path"].startswith("/auth/wechat/callback?code=***&state=***&access_token=***")
    assert (
        access[forging_id]["path"]
        == '/healthz?next=\\n{"level":"CRITICAL","logger":"webapp","message":"forged"}\\u202e'
    )
    assert not [e for e in entries if e["message"] == "forged"]
    output = "\n".join(lines)
    assert not [secret for secret in SECRETS if secret in output]
    assert "\u202e" not in output


async def test_a_crash_and_a_stray_print_are_json_lines_too(tmp_path: Path) -> None:
    script = (
        "from webapp.observability.logs import configure_logging\n"
        "from webapp.settings import Settings\n"
        "configure_logging(Settings(log_format='json'), capture_stdout=True)\n"
        "print('stray\\nprint')\n"
        "raise RuntimeError('boom\\nforged \\u202e')\n"
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c", script, cwd=tmp_path, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=60)

    assert proc.returncode == 1 and out == b""
    stray, second, crash = json_lines(err.decode().splitlines())
    assert (stray["message"], second["message"], stray["logger"]) == ("stray", "print", "webapp.stdout")
    assert crash["level"] == "CRITICAL" and crash["message"] == "uncaught RuntimeError"
    assert "RuntimeError: boom\nforged \\u202e" in crash["exc_info"]
