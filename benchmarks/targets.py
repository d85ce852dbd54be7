"""Issue 15's targets beside this run's figures: informative only, never a reason to fail the run.

Issue 8's other targets are retired; their figures are still measured and printed in their sections.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Target:
    """One figure, how it is compared, and the bound."""

    name: str
    path: tuple[str, ...]
    op: str  # ">=" or "<="
    bound: float
    unit: str = ""
    fraction: bool = False  # shown as 1/N


TARGETS = (
    Target("site CPU per QR login / the Django peer's", ("qr_login_cpu", "returning", "ratio_site_to_django_peer"),
           "<=", 0.1, "×", fraction=True),
    Target("site CPU per QR login / the async peer's", ("qr_login_cpu", "returning", "ratio_site_to_async_peer"),
           "<=", 0.2, "×", fraction=True),
    Target("GET /api/me, site / (bare + the session query)", ("api_me", "ratio"), ">=", 0.9, "×"),
    Target("  the same by CPU per request", ("api_me", "cpu_ratio"), ">=", 0.9, "×"),
)


def _get(figures: dict[str, Any], path: tuple[str, ...]) -> Any:
    """figures[path[0]][path[1]]..., or None where anything is missing."""
    value: Any = figures
    for key in path:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def evaluate(figures: dict[str, Any]) -> list[dict[str, Any]]:
    """Every target with this run's value and whether it is met (None when the figure was not measured)."""
    rows = []
    for t in TARGETS:
        value = _get(figures, t.path)
        met = None if value is None else (value >= t.bound if t.op == ">=" else value <= t.bound)
        bound = f"1/{1 / t.bound:g}" if t.fraction else f"{t.bound:g}{t.unit}"
        rows.append({"name": t.name, "key": ".".join(t.path), "value": value, "target": f"{t.op} {bound}",
                     "unit": t.unit, "fraction": t.fraction, "met": met})
    return rows
