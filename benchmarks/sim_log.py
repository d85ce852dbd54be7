"""Idle gaps in the simulator's work, seen from outside: its access log's lines for one WeChat path.

Each access line carries the time it was written (end of the request, millisecond resolution) and the
request's duration, so each call is an interval [end - duration, end]. Where no call was in progress for
at least GAP_MS, the caller (the refresh worker) was doing something else: claiming, storing, encrypting.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

GAP_MS = 5.0
_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*?(?:GET|POST) (/\S+?)(?:\?\S*)? \d{3} ([\d.]+)ms\s*$")


def call_intervals(log: Path, path: str, since: float, until: float) -> list[tuple[float, float]]:
    """(start, end) epoch seconds of every logged call of `path` that ended between two instants."""
    intervals = []
    with log.open(errors="replace") as lines:
        for line in lines:
            match = _LINE.match(line)
            if match is None or match.group(2) != path:
                continue
            end = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
            if since <= end <= until:
                intervals.append((end - float(match.group(3)) / 1000, end))
    return sorted(intervals)


def idle_gaps(intervals: list[tuple[float, float]]) -> list[float]:
    """Lengths (seconds) of the stretches between the first call and the last with no call in progress."""
    gaps: list[float] = []
    busy_until = intervals[0][1] if intervals else 0.0
    for start, end in intervals[1:]:
        if start > busy_until:
            gaps.append(start - busy_until)
        busy_until = max(busy_until, end)
    return gaps


def gap_summary(log: Path, path: str, since: float, until: float) -> dict[str, Any]:
    """How often and how long the simulator saw no `path` call in progress while the caller ran."""
    intervals = call_intervals(log, path, since, until)
    if not intervals:
        return {"observed": False, "reason": f"no access-log lines for {path} in the simulator's log"}
    gaps = sorted(g for g in idle_gaps(intervals) if g * 1000 >= GAP_MS)
    span = intervals[-1][1] - intervals[0][0]
    return {"observed": True, "calls": len(intervals), "threshold_ms": GAP_MS, "gaps": len(gaps),
            "idle_s": round(sum(gaps), 2), "idle_share": round(sum(gaps) / span, 3) if span > 0 else None,
            "p50_ms": round(gaps[len(gaps) // 2] * 1000, 1) if gaps else None,
            "max_ms": round(gaps[-1] * 1000, 1) if gaps else None, "busy_span_s": round(span, 2)}
