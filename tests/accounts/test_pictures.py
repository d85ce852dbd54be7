"""A picture of one's own: PNG, JPEG or WebP up to 2 MiB, re-encoded (no metadata, at most 512×512), served
from our origin; anything else gets a clear answer and changes nothing; it can be removed; WeChat's copier
never overwrites it."""

from __future__ import annotations

import io
import re

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image
from sqlalchemy import select

from tests.accounts.helpers import SM, AuthActions
from webapp.avatars import store
from webapp.avatars.fetch import Fetched
from webapp.avatars.upload import PictureRefused, reencode
from webapp.keys import database_key
from webapp.models import UserAvatar


def picture(fmt: str = "JPEG", size: tuple[int, int] = (1200, 900), **save: object) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 30, 60)).save(out, format=fmt, **save)
    return out.getvalue()


def with_gps() -> bytes:
    """A JPEG that says where it was taken."""
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (39.0, 54.0, 27.0)}  # GPSInfo
    return picture("JPEG", exif=exif.tobytes())


async def member(client: TestClient) -> AuthActions:
    """Someone signed up, reading the site in English."""
    await client.get("/lang/en")
    auth = AuthActions(client)
    await auth.signup("alice")
    return auth


async def upload(auth: AuthActions, content: bytes, *, token: bool = True) -> tuple[int, str]:
    data: dict[str, object] = {"picture": io.BytesIO(content)}
    if token:
        data["csrf_token"] = await auth.token("/settings")
    response = await auth.client.post("/settings/picture", data=data, allow_redirects=False)
    return response.status, await response.text()


async def stored(sessionmaker: SM) -> UserAvatar | None:
    async with sessionmaker() as s:
        return (await s.scalars(select(UserAvatar))).first()


async def test_an_upload_is_re_encoded_without_metadata_and_served_from_our_origin(
    client: TestClient, sessionmaker: SM
) -> None:
    auth = await member(client)
    assert (await upload(auth, with_gps()))[0] == 302
    avatar = await stored(sessionmaker)
    assert avatar is not None and avatar.source_url == "upload" and avatar.content_type == "image/webp"
    with Image.open(io.BytesIO(avatar.content)) as image:
        assert image.format == "WEBP" and max(image.size) == 512
        assert not image.getexif() and "exif" not in image.info and "icc_profile" not in image.info
    settings = await (await client.get("/settings")).text()
    src = re.search(r'src="(/avatars/\d+/[0-9a-f]{16})"', settings)
    assert src is not None and "Your picture has been saved." in settings
    served = await client.get(src.group(1))
    assert served.status == 200 and await served.read() == avatar.content


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "Choose a picture to upload."),
        (b"GIF89a" + b"\0" * 100, "That file is not a PNG, JPEG or WebP picture."),
        (picture("GIF", (20, 20)), "That file is not a PNG, JPEG or WebP picture."),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "That file is not a PNG, JPEG or WebP picture."),
        (picture("JPEG")[:200], "That file is not a PNG, JPEG or WebP picture."),  # cut short
        (b"\xff\xd8" + b"x" * (2 * 1024 * 1024), "That file is larger than 2 MB. Choose a smaller picture."),
    ],
)
async def test_what_is_not_a_picture_we_take_gets_a_clear_answer_and_changes_nothing(
    client: TestClient, sessionmaker: SM, content: bytes, message: str
) -> None:
    auth = await member(client)
    status, page = await upload(auth, content)
    assert status == 400 and message in page and 'aria-invalid="true"' in page
    assert await stored(sessionmaker) is None


def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    out = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(out, format="PNG")  # 144 megapixels in a few kilobytes
    assert len(out.getvalue()) < 100_000
    with pytest.raises(PictureRefused) as refused:
        reencode(out.getvalue())
    assert refused.value.reason == "pixels"


def test_png_and_webp_keep_transparency_and_small_pictures_their_size() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (64, 48), (0, 0, 0, 0)).save(out, format="PNG")
    for content in (out.getvalue(), picture("WEBP", (300, 200))):
        with Image.open(io.BytesIO(reencode(content).content)) as image:
            assert image.size in ((64, 48), (300, 200))
    with Image.open(io.BytesIO(reencode(out.getvalue()).content)) as image:
        assert image.mode == "RGBA"


async def test_without_the_csrf_token_nothing_is_stored(client: TestClient, sessionmaker: SM) -> None:
    auth = await member(client)
    assert (await upload(auth, picture(), token=False))[0] == 403
    assert await stored(sessionmaker) is None


async def test_a_body_past_the_upload_limit_is_refused_and_other_forms_keep_theirs(client: TestClient) -> None:
    auth = await member(client)
    assert (await upload(auth, b"x" * (3 * 1024 * 1024)))[0] == 413
    token = await auth.token("/settings")
    big = {"csrf_token": token, "display_name": "x" * (100 * 1024)}
    assert (await client.post("/settings/profile", data=big, allow_redirects=False)).status == 413


async def test_remove_then_the_default_shows(client: TestClient, sessionmaker: SM) -> None:
    auth = await member(client)
    await upload(auth, picture("PNG", (100, 100)))
    assert 'id="picture-remove"' in await (await client.get("/settings")).text()
    assert (await auth.post("/settings/picture/remove", form_page="/settings")).status == 302
    assert await stored(sessionmaker) is None
    page = await (await client.get("/settings")).text()
    assert 'data-avatar="default"' in page and "Your picture has been removed." in page


async def test_the_wechat_copier_never_overwrites_an_upload(client: TestClient, sessionmaker: SM) -> None:
    auth = await member(client)
    await upload(auth, picture())
    mine = await stored(sessionmaker)
    assert mine is not None
    wechat = Fetched(content=b"\x89PNG wechat", content_type="image/png", sha256="f" * 64)
    async with client.app[database_key].connection() as conn:
        await conn.execute("UPDATE users SET avatar_source = 'https://wx.qlogo.cn/a/132' WHERE id = $1", mine.user_id)
        await store.save(conn, user_id=mine.user_id, source="https://wx.qlogo.cn/a/132", image=wechat, now=mine.fetched_at)
    after = await stored(sessionmaker)
    assert after is not None and after.content == mine.content and after.source_url == "upload"


async def test_after_removing_a_wechat_copy_the_page_does_not_promise_it_back(client: TestClient, sessionmaker: SM) -> None:
    auth = await member(client)
    async with client.app[database_key].connection() as conn:
        user_id = await conn.fetchval("SELECT id FROM users")
        await conn.execute("UPDATE users SET avatar_source = 'https://wx.qlogo.cn/a/132' WHERE id = $1", user_id)
    assert "appear here shortly" in await (await client.get("/settings")).text()  # queued for the worker
    assert (await auth.post("/settings/picture/remove", form_page="/settings")).status == 302
    assert "appear here shortly" not in await (await client.get("/settings")).text()
