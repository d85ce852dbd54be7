"""The simulator's movable clock."""

from __future__ import annotations

import time


class SimClock:
    """Epoch seconds: real (or frozen) time plus an offset that tests can advance."""

    def __init__(self, *, frozen_at: float | None = None) -> None:
        self._frozen_at = frozen_at
        self._offset = 0.0

    def now(self) -> float:
        """Return the simulated time in epoch seconds."""
        base = self._frozen_at if self._frozen_at is not None else time.time()
        return base + self._offset

    def advance(self, seconds: float) -> float:
        """Move the clock forward by `seconds` and return the new time."""
        self._offset += seconds
        return self.now()

    def rewind_offset(self) -> None:
        """Forget every advance (used by reset)."""
        self._offset = 0.0
