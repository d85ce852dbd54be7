"""SimulatorState: everything the simulator knows, built from a fixture."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from webapp.wechat_sim.clock import SimClock
from webapp.wechat_sim.faults import CallLog, FaultBook
from webapp.wechat_sim.fixture import Fixture, default_fixture, load_fixture
from webapp.wechat_sim.grants import GrantBook
from webapp.wechat_sim.qr import QrBook

FIXTURE_ENV = "WECHAT_SIM_FIXTURE"


class SimulatorState:
    """Fixture, clock, QR sessions, codes/tokens, faults and call log of one simulator."""

    def __init__(self, fixture: Fixture | None = None, *, clock: SimClock | None = None,
                 poll_hold_s: float = 25.0) -> None:
        self.fixture = fixture or default_fixture()
        self.clock = clock or SimClock()
        self.poll_hold_s = poll_hold_s
        self._fresh()

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SimulatorState:
        """Load the fixture named by WECHAT_SIM_FIXTURE, else the default one."""
        path = environ.get(FIXTURE_ENV)
        return cls(load_fixture(Path(path)) if path else None)

    def _fresh(self) -> None:
        """Create empty books."""
        self.grants = GrantBook(self.fixture, self.clock.now)
        self.qr = QrBook(self.clock.now)
        self.faults = FaultBook()
        self.calls = CallLog()

    def now(self) -> float:
        """Return the simulated time."""
        return self.clock.now()

    def reset(self) -> None:
        """Return to the fixture state: no sessions, codes, tokens, faults or calls; clock un-advanced."""
        self.qr.wake_all()
        self.clock.rewind_offset()
        self._fresh()
