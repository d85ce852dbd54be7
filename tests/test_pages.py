"""Site-wide pages: the official account's domain-verification file."""

from __future__ import annotations

from webapp.app import create_app


async def test_mp_verify_file_is_served_from_configuration(aiohttp_client, settings, sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    configured = settings.with_(mp_verify={"MP_verify_Ab12Cd.txt": "Ab12Cd"})
    client = await aiohttp_client(create_app(configured, sessionmaker=sessionmaker, clock=clock))
    resp = await client.get("/MP_verify_Ab12Cd.txt")
    assert resp.status == 200
    assert await resp.text() == "Ab12Cd"
    assert resp.content_type == "text/plain"
    assert (await client.get("/MP_verify_Other1.txt")).status == 404


def test_mp_verify_is_read_from_the_environment() -> None:
    from webapp.settings import Settings

    settings = Settings.from_env({"WECHAT_MP_VERIFY": "MP_verify_a1.txt=a1, MP_verify_b2.txt=b2"})
    assert dict(settings.mp_verify) == {"MP_verify_a1.txt": "a1", "MP_verify_b2.txt": "b2"}
