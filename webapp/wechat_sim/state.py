"""SimulatorState: everything the simulator knows, built from a fixture."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from webapp.wechat_sim.app_tokens import AppTokenBook
from webapp.wechat_sim.clock import SimClock
from webapp.wechat_sim.faults import CallLog, FaultBook
from webapp.wechat_sim.fixture import Fixture, default_fixture, load_fixture
from webapp.wechat_sim.grants import GrantBook
from webapp.wechat_sim.mini_codes import MiniBook
from webapp.wechat_sim.mp_qrcodes import QrCodeBook
from webapp.wechat_sim.mp_users import FollowerBook, ProfileBook
from webapp.wechat_sim.push_config import PushConfig, push_from_env
from webapp.wechat_sim.push_sender import DeliveryLog
from webapp.wechat_sim.qr import QrBook

FIXTURE_ENV = "WECHAT_SIM_FIXTURE"


class SimulatorState:
    """Fixture, clock, QR sessions, codes/tokens, followers, push configuration, faults and logs of one simulator."""

    def __init__(self, fixture: Fixture | None = None, *, clock: SimClock | None = None,
                 poll_hold_s: float = 25.0, push: Mapping[str, PushConfig] | None = None) -> None:
        self.fixture = fixture or default_fixture()
        self.clock = clock or SimClock()
        self.poll_hold_s = poll_hold_s
        self._initial_push = {a.appid: a.push for a in self.fixture.apps if a.push is not None} | dict(push or {})
        self._fresh()

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> SimulatorState:
        """Load the fixture named by WECHAT_SIM_FIXTURE (else the default one) and WECHAT_SIM_PUSH_* settings."""
        path = environ.get(FIXTURE_ENV)
        fixture = load_fixture(Path(path)) if path else default_fixture()
        config, account = push_from_env(environ), fixture.official_account()
        push = {account.appid: config} if config is not None and account is not None else None
        return cls(fixture, push=push)

    def _fresh(self) -> None:
        """Create the books in their fixture state."""
        self.grants = GrantBook(self.fixture, self.clock.now)
        self.qr = QrBook(self.clock.now)
        self.app_tokens = AppTokenBook(self.clock.now)
        self.qrcodes = QrCodeBook(self.clock.now)
        self.mini = MiniBook(self.clock.now, frozenset(u.id for u in self.fixture.users if u.risky))
        self.followers = FollowerBook(self.fixture, self.clock.now)
        self.profiles = ProfileBook()
        self.push_configs: dict[str, PushConfig] = dict(self._initial_push)
        self.deliveries = DeliveryLog()
        self.faults = FaultBook()
        self.calls = CallLog()

    def now(self) -> float:
        """Return the simulated time."""
        return self.clock.now()

    def reset(self) -> None:
        """Return to the fixture state: no sessions, codes, tokens, QR codes, faults, logs or edits; clock un-advanced."""
        self.qr.wake_all()
        self.clock.rewind_offset()
        self._fresh()
