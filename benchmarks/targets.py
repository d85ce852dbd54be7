"""Issue 8's targets beside this run's figures: informative only, never a reason to fail the run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# The refresh worker's memory counts as flat when it grows by at most this share of its starting RSS.
FLAT_MEMORY_SHARE = 0.05


@dataclass(frozen=True)
class Target:
    """One figure, how it is compared, and the bound."""

    name: str
    path: tuple[str, ...]
    op: str  # ">=" or "<="
    bound: float
    unit: str = ""


TARGETS = (
    Target("GET /api/me, site / bare aiohttp", ("api_me", "ratio"), ">=", 0.5, "×"),
    Target("site CPU per QR login, returning users", ("qr_login", "returning", "server_cpu_ms_per_op"), "<=", 4.0,
           " ms"),
    Target("site CPU per QR login, new users", ("qr_login", "new", "server_cpu_ms_per_op"), "<=", 4.0, " ms"),
    Target("returning QR logins, site --workers / peer", ("peer", "ratio_site_workers_to_peer"), ">=", 5.0, "×"),
    Target("refresh worker / simulator raw refresh", ("refresh", "ratio"), ">=", 0.7, "×"),
    Target("returning QR logins, 1M users / a few thousand", ("million", "qr_login_returning_ratio"), ">=", 0.9, "×"),
    Target("GET /api/me, 1M users / a few thousand", ("million", "api_me_ratio"), ">=", 0.9, "×"),
)


def _get(figures: dict[str, Any], path: tuple[str, ...]) -> Any:
    """figures[path[0]][path[1]]..., or None where anything is missing."""
    value: Any = figures
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def memory_growth_share(figures: dict[str, Any]) -> float | None:
    """How much the refresh worker's RSS grew during its pass, as a share of where it started."""
    memory = _get(figures, ("refresh", "worker", "memory")) or {}
    if not memory.get("start_kib"):
        return None
    return (memory["end_kib"] - memory["start_kib"]) / memory["start_kib"]


def evaluate(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target with this run's value and whether it is met (None when the figure was not measured)."""
    rows = []
    for t in TARGETS:
        value = _get(figures, t.path)
        met = None if value is None else (value >= t.bound if t.op == ">=" else value <= t.bound)
        rows.append({"name": t.name, "key": ".".join(t.path), "value": value, "target": f"{t.op} {t.bound:g}{t.unit}",
                     "unit": t.unit, "met": met})
    growth = memory_growth_share(figures)
    rows.append({"name": "refresh worker RSS growth during the pass", "key": "refresh.worker.memory",
                 "value": None if growth is None else round(growth, 3), "target": f"<= {FLAT_MEMORY_SHARE:.0%} (flat)",
                 "unit": "share", "met": None if growth is None else growth <= FLAT_MEMORY_SHARE})
    return rows
