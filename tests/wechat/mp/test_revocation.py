"""WeChat tells the site a user withdrew the authorization, deleted their account, or had their profile changed.

End to end: the simulator's phone action, its push (safe mode) to the site, the site's database, pages,
the refresher and the worker.
"""

from __future__ import annotations

from tests.wechat.harness import World
from tests.wechat.mp.conftest import PusherFor
from tests.wechat.mp.helpers import advance, events_of, oa_identity, oa_login, phone_action, push_to, worker_pass
from tests.wechat.mp.pushes import PUSH_ACCOUNT, event_xml
from webapp.wechat.client import REFRESH_TOKEN_PATH, USERINFO_PATH
from webapp.wechat_sim import fixture as sim_fixture


async def test_a_revocation_deletes_tokens_and_profile_at_once(mp_world: World) -> None:
    phone = await oa_login(mp_world, user=2)
    before = await oa_identity(mp_world, 2)
    assert before.status == "active" and before.refresh_token_enc and before.nickname == "李娜🌸"
    await push_to(mp_world)

    answer = await phone_action(mp_world, "revoke", user=2)
    assert answer["delivery"]["attempts"][0]["reply"] == "success"

    after = await oa_identity(mp_world, 2)
    assert (after.status, after.revoked_at) == ("revoked", mp_world.clock())
    assert (after.access_token_enc, after.refresh_token_enc, after.access_expires_at) == (None, None, None)
    assert (after.nickname, after.avatar_url) == ("", "")
    [event] = await events_of(mp_world, after.user_id, "wechat_revoked")
    assert (event.actor, event.client, event.ip, event.method) == ("wechat", "WeChat", "", "")
    me = await phone.me()
    assert me is not None and [i["status"] for i in me["wechat"]] == ["revoked"]


async def test_settings_show_the_revoked_identity_and_the_activity_lists_it(mp_world: World) -> None:
    phone = await oa_login(mp_world, user=2)
    await push_to(mp_world)
    await phone_action(mp_world, "revoke", user=2)
    page = await (await phone.get("/settings")).text()
    assert "data-revoked" in page and "Authorization withdrawn in WeChat" in page
    identities = page[
        page.index('<ul class="identities">') : page.index("</ul>", page.index('<ul class="identities">'))
    ]
    assert "李娜" not in identities  # the identity's nickname is gone (the account's display name is its own)
    assert "activity-wechat_revoked" in page
    phone.headers["Accept-Language"] = "zh-CN"
    chinese = await (await phone.get("/settings")).text()
    assert "已在微信中撤销授权" in chinese


async def test_the_refresher_never_calls_wechat_for_a_revoked_identity(mp_world: World) -> None:
    await oa_login(mp_world, user=2)
    await push_to(mp_world)
    await phone_action(mp_world, "revoke", user=2)
    await advance(mp_world, 3 * 3600)  # long past the access token's 2 hours
    report = await worker_pass(mp_world.site)
    assert report.claimed == 0
    assert await mp_world.sim.calls(REFRESH_TOKEN_PATH) == []


async def test_logging_in_again_grants_anew(mp_world: World) -> None:
    await oa_login(mp_world, user=2)
    await push_to(mp_world)
    await phone_action(mp_world, "revoke", user=2)
    await advance(mp_world, 300)

    await oa_login(mp_world, user=2)
    identity = await oa_identity(mp_world, 2)
    assert identity.status == "active" and identity.refresh_token_enc and identity.access_token_enc
    assert identity.nickname == "李娜🌸"  # the new snsapi_userinfo grant brought the profile back
    assert identity.revoked_at is None


async def test_a_deleted_wechat_account_is_treated_like_a_revocation(mp_world: World, pusher_for: PusherFor) -> None:
    await oa_login(mp_world, user=4)
    identity = await oa_identity(mp_world, 4)
    pusher = pusher_for(mp_world, "safe")
    cancellation = event_xml(
        PUSH_ACCOUNT,
        "user_authorization_cancellation",
        pusher.timestamp,
        OpenID=identity.openid,
        AppID=sim_fixture.MP_APPID,
        RevokeInfo="1",
    )
    assert await pusher.post(cancellation) == (200, "success")
    after = await oa_identity(mp_world, 4)
    assert (after.status, after.refresh_token_enc, after.nickname) == ("revoked", None, "")
    assert len(await events_of(mp_world, after.user_id, "wechat_revoked")) == 1


async def test_two_revocations_in_the_same_second_are_two_users_not_a_duplicate(
    mp_world: World, pusher_for: PusherFor
) -> None:
    # The revoke family's FromUserName is the platform's account, not the user: deduplicating on
    # FromUserName + CreateTime alone would drop the second user.
    await oa_login(mp_world, user=1)
    await oa_login(mp_world, user=3)
    pusher = pusher_for(mp_world, "safe")
    for user in (1, 3):
        openid = (await oa_identity(mp_world, user)).openid
        xml = event_xml(
            PUSH_ACCOUNT,
            "user_authorization_revoke",
            pusher.timestamp,
            OpenID=openid,
            AppID=sim_fixture.MP_APPID,
            RevokeInfo="205",
        )
        assert await pusher.post(xml) == (200, "success")
    assert {(await oa_identity(mp_world, u)).status for u in (1, 3)} == {"revoked"}


async def test_a_duplicated_revocation_push_is_recorded_once(mp_world: World) -> None:
    await oa_login(mp_world, user=2)
    await push_to(mp_world)
    await mp_world.sim.control("POST", "faults", {"push": "duplicate"})
    answer = await phone_action(mp_world, "revoke", user=2)
    assert answer["delivery"]["duplicate"] is True and len(answer["delivery"]["attempts"]) == 2
    identity = await oa_identity(mp_world, 2)
    assert len(await events_of(mp_world, identity.user_id, "wechat_revoked")) == 1


async def test_a_revocation_of_an_unknown_user_or_another_app_changes_nothing(
    mp_world: World, pusher_for: PusherFor
) -> None:
    await oa_login(mp_world, user=2)
    openid = (await oa_identity(mp_world, 2)).openid
    pusher = pusher_for(mp_world, "safe")
    for fields in (
        {"OpenID": "oSomeoneElse000000000000000", "AppID": sim_fixture.MP_APPID},
        {"OpenID": openid, "AppID": "wx0000000000000000"},
    ):
        xml = event_xml(PUSH_ACCOUNT, "user_authorization_revoke", pusher.timestamp, **fields)
        assert await pusher.post(xml) == (200, "success")
    assert (await oa_identity(mp_world, 2)).status == "active"


async def test_a_profile_change_asks_the_worker_to_sync_and_is_in_the_activity(mp_world: World) -> None:
    await oa_login(mp_world, user=2)
    await push_to(mp_world)
    await phone_action(mp_world, "profile", user=2, nickname="新名字")
    identity = await oa_identity(mp_world, 2)
    assert identity.profile_sync_requested_at == mp_world.clock()
    assert identity.nickname == "李娜🌸"  # not yet: the worker fetches it
    assert len(await events_of(mp_world, identity.user_id, "wechat_profile_changed")) == 1


async def test_a_profile_change_reaches_the_identity_on_the_workers_next_pass(mp_world: World) -> None:
    await oa_login(mp_world, user=2)
    await push_to(mp_world)
    await advance(mp_world, 600)  # the token is fresh and the profile was synced minutes ago
    await phone_action(mp_world, "profile", user=2, nickname="新名字")
    await worker_pass(mp_world.site)
    identity = await oa_identity(mp_world, 2)
    assert identity.nickname == "新名字"
    assert identity.profile_sync_requested_at is None
    assert len(await mp_world.sim.calls(USERINFO_PATH)) == 2  # the login's, then the worker's


async def test_a_profile_change_for_a_revoked_identity_is_ignored(mp_world: World) -> None:
    await oa_login(mp_world, user=2)
    await push_to(mp_world)
    await phone_action(mp_world, "revoke", user=2)
    await phone_action(mp_world, "profile", user=2, nickname="x")
    identity = await oa_identity(mp_world, 2)
    assert identity.profile_sync_requested_at is None
    assert await events_of(mp_world, identity.user_id, "wechat_profile_changed") == []
