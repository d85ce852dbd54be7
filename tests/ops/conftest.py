"""The WeChat harness's fixtures (simulator on loopback, the site's `world`) for the operations tests."""

from tests.wechat.harness import sim_server, wechat_settings, world  # noqa: F401
