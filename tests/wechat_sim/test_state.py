"""Clock, expiring store, identifiers and fixture loading."""

from __future__ import annotations

import json
from pathlib import Path

from webapp.wechat_sim import fixture as fx
from webapp.wechat_sim import ids
from webapp.wechat_sim.clock import SimClock
from webapp.wechat_sim.expiry import ExpiringStore
from webapp.wechat_sim.state import SimulatorState


def test_frozen_clock_moves_only_when_advanced() -> None:
    clock = SimClock(frozen_at=100.0)
    assert clock.now() == 100.0
    assert clock.advance(50) == 150.0 and clock.now() == 150.0


def test_real_clock_is_epoch_seconds() -> None:
    assert SimClock().now() > 1_600_000_000


def test_expiring_store_hides_and_purges_dead_entries() -> None:
    clock = SimClock(frozen_at=0.0)
    store: ExpiringStore[str, int] = ExpiringStore(clock.now)
    store.put("a", 1, 10.0)
    store.put("b", 2, 20.0)
    store.put("a", 3, 30.0)
    clock.advance(25)
    assert store.get("a") == 3 and store.get("b") is None
    store.put("c", 4, 40.0)
    assert len(store) == 2
    clock.advance(100)
    assert store.purge() == 2 and len(store) == 0


def test_ids_are_deterministic_and_shaped_like_wechats() -> None:
    assert ids.openid_for("wxa", 1) == ids.openid_for("wxa", 1) != ids.openid_for("wxb", 1)
    assert len(ids.unionid_for("p", 1)) == 28 and ids.unionid_for("p", 1).startswith("o")
    assert len(ids.new_uuid()) == 16 and ids.new_code().isalnum() and len(ids.new_code()) == 32
    assert ids.new_token().startswith("86_")


def test_from_env_defaults_to_builtin_fixture() -> None:
    assert SimulatorState.from_env({}).fixture.app(fx.WEBSITE_APPID) is not None


def test_from_env_loads_json_fixture(tmp_path: Path) -> None:
    path = tmp_path / "fixture.json"
    path.write_text(json.dumps({
        "open_platform": "mine", "new_grant_revokes_previous": True,
        "apps": [{"appid": "wx0123456789abcdef", "secret": "f" * 32, "kind": "website",
                  "callback_hosts": ["example.test"]}],
        "users": [{"id": 7, "nickname": "测试"}],
    }), encoding="utf-8")
    state = SimulatorState.from_env({"WECHAT_SIM_FIXTURE": str(path)})
    app = state.fixture.app("wx0123456789abcdef")
    assert app is not None and app.callback_hosts == ("example.test",) and app.bound
    assert state.fixture.unionid(7) == ids.unionid_for("mine", 7)
    assert state.fixture.new_grant_revokes_previous
