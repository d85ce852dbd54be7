"""Time as a dependency: the app reads `now` from here so tests can move it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


class FrozenClock:
    """A clock for tests: stands still until told to move."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at

    def advance(self, **delta: float) -> datetime:
        """Move forward by a timedelta given as keywords (seconds=, minutes=, days=)."""
        self.at += timedelta(**delta)
        return self.at
