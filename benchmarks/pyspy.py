"""`run.py --profile [phase]`: sample the site with py-spy during one load phase; print and save the top lines.

py-spy comes from PyPI through `uv tool run py-spy` (or a py-spy already on PATH). Samples are grouped by
function (`--function`); "own" is where the site was when sampled, "total" anything on the stack then.
Idle time (the event loop waiting) is not sampled, so the shares are of the time the site was busy.
"""

from __future__ import annotations

import asyncio
import shutil
from collections import Counter
from functools import partial
from typing import Any

from benchmarks.bench import Bench, progress
from benchmarks.browser import ME_PATH, WECHAT_HEADERS, Endpoints, qr_login, wechat_login
from benchmarks.site_phases import UNBOUNDED_S, first_logins, untimed
from benchmarks.web_phases import hammer, logged_in_session, measure_rounds

TOP = 25
RATE_HZ = 100


def py_spy() -> list[str]:
    """The py-spy command: on PATH, or run through uv's tool cache."""
    found = shutil.which("py-spy")
    return [found] if found else [shutil.which("uv") or "uv", "tool", "run", "py-spy"]


# A sample whose innermost frame is one of these is a thread waiting (an idle thread-pool worker, the loop
# in epoll, the log flusher asleep between batches): py-spy's idle detection does not always see it, so they
# are dropped.
IDLE_LEAVES = ("_worker (concurrent/futures/thread.py:", "EpollSelector.select (selectors.py:",
               "BatchingStreamHandler._flusher (webapp/observability/logs.py:")
# Frames on nearly every stack (start-up, the event loop, threads): left out of the "total" list.
SCAFFOLDING = ("(<frozen runpy>:", "(asyncio/base_events.py:", "(asyncio/events.py:", "(threading.py:",
               "(webapp/__main__.py:", "(webapp/cli.py:", "(aiohttp/web.py:")


def top_lines(raw: str, top: int = TOP) -> tuple[int, list[tuple[int, str]], list[tuple[int, str]]]:
    """From py-spy's raw (collapsed stacks) output: busy samples, and the top functions by own and total samples."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        frames = [f for f in stack.split(";") if f.strip()]
        if not frames or not count.isdigit() or frames[-1].startswith(IDLE_LEAVES):
            continue
        samples += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            if not any(part in frame for part in SCAFFOLDING):
                total[frame] += int(count)
    return samples, [(n, f) for f, n in own.most_common(top)], [(n, f) for f, n in total.most_common(top)]


def format_profile(title: str, raw: str, duration_s: float) -> str:
    """The two top-N lists as text."""
    samples, own, total = top_lines(raw)
    busy = samples / (RATE_HZ * duration_s) if duration_s else 0
    lines = [title, f"{samples:,} samples at {RATE_HZ} Hz over {duration_s:g} s (site busy ≈ {busy:.0%} of a core)",
             "", f"Top {TOP} by own time"]
    lines += [f"  {100 * n / samples:5.1f}%  {frame}" for n, frame in own] if samples else []
    lines += ["", f"Top {TOP} by total time (on the stack)"]
    lines += [f"  {100 * n / samples:5.1f}%  {frame}" for n, frame in total] if samples else []
    return "\n".join(lines)


async def _phase_load(b: Bench, ends: Endpoints, phase: str) -> Any:
    """The load to profile: prepared first (untimed), returned as an awaitable of the timed part."""
    conc, duration = b.config.concurrency, b.config.duration_s
    if phase == "new":
        await untimed("warm-up QR logins", measure_rounds(partial(qr_login, ends=ends, new=True), b.people.warmup,
                                                          concurrency=conc, duration_s=UNBOUNDED_S,
                                                          max_ops=len(b.people.warmup)))
        return measure_rounds(partial(qr_login, ends=ends, new=True), b.people.cohort, concurrency=conc,
                              duration_s=duration, max_ops=len(b.people.cohort))
    await first_logins(b, ends)
    if phase == "silent":
        return measure_rounds(partial(wechat_login, ends=ends), b.people.cohort[: b.config.mp_users],
                              concurrency=conc, duration_s=duration, headers=WECHAT_HEADERS)
    if phase == "me":
        cookies, _ = await logged_in_session(ends, b.people.cohort[0])
        return hammer(ends.site + ME_PATH, cookies, concurrency=conc, duration_s=duration)
    return measure_rounds(partial(qr_login, ends=ends, new=False), b.people.cohort, concurrency=conc,
                          duration_s=duration)


async def profile_site(b: Bench, ends: Endpoints, phase: str) -> dict[str, Any]:
    """Run `phase` against the site under py-spy; print the top lines and write them beside the JSON."""
    site = next(c for c in b.children if c.name == "site")
    load = await _phase_load(b, ends, phase)
    out_dir = b.config.json_path.parent  # benchmarks/results/ unless --json says otherwise
    out_dir.mkdir(parents=True, exist_ok=True)
    raw_path = out_dir / f"profile-{phase}.raw"
    duration = b.config.duration_s
    progress(f"py-spy on the site (pid {site.pid}) during {duration:g} s of '{phase}' load ...")
    spy = await asyncio.create_subprocess_exec(
        *py_spy(), "record", "--pid", str(site.pid), "--duration", str(max(1, round(duration))), "--rate",
        str(RATE_HZ), "--function", "--format", "raw", "--output", str(raw_path),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        result = await load
        output, _ = await spy.communicate()
    finally:
        if spy.returncode is None:
            spy.kill()
    if spy.returncode or not raw_path.exists():
        raise RuntimeError(f"py-spy failed ({spy.returncode}): {output.decode(errors='replace')[-1000:]}")
    title = (f"py-spy profile of the site during '{phase}' ({result.rate:.1f} ops/s, {result.ok} ok, "
             f"{result.errors} errors, concurrency {b.config.concurrency})")
    text = format_profile(title, raw_path.read_text(), duration)
    (out_dir / f"profile-{phase}.txt").write_text(text + "\n", encoding="utf-8")
    print(text)
    progress(f"written {out_dir / f'profile-{phase}.txt'} and the raw stacks in {raw_path}")
    return {}
