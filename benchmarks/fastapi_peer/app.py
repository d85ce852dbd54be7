"""The async peer's application: `uvicorn benchmarks.fastapi_peer.app:app`.

The same QR login round as the site: /auth/wechat/start → WeChat's QR page → scan, confirm →
/auth/wechat/callback (code exchange and /sns/userinfo through Authlib) → /api/me.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Annotated, Any

from authlib.integrations.starlette_client import OAuthError
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import selectinload

from benchmarks.fastapi_peer.models import Base, User, WechatAccount, utcnow
from benchmarks.fastapi_peer.sessions import PostgresSessionMiddleware, cycle_session
from benchmarks.fastapi_peer.settings import Settings
from benchmarks.fastapi_peer.wechat import make_oauth

settings = Settings.from_env()
# A request may hold two connections (its session's and its own); room for 16 requests in flight, kept open.
engine = create_async_engine(settings.database_url, pool_size=20, max_overflow=10)
SessionLocal = async_sessionmaker(engine, expire_on_commit=False)
oauth = make_oauth(settings)


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Create the tables on start; close the pool on stop."""
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield
    await engine.dispose()


app = FastAPI(lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
app.add_middleware(PostgresSessionMiddleware, secret_key=settings.secret_key, sessionmaker=SessionLocal)


async def get_db() -> AsyncIterator[AsyncSession]:
    """One database session per request (FastAPI's dependency pattern)."""
    async with SessionLocal() as db:
        yield db


Db = Annotated[AsyncSession, Depends(get_db)]


class WechatOut(BaseModel):
    """One WeChat identity as /api/me shows it."""

    appid: str
    openid: str
    nickname: str
    avatar_url: str
    created_at: datetime
    updated_at: datetime


class MeOut(BaseModel):
    """The logged-in user."""

    id: int
    nickname: str
    avatar_url: str
    wechat: list[WechatOut]


def safe_next(value: str | None) -> str:
    """A local path to go to after login (never another host)."""
    return value if value and value.startswith("/") and not value.startswith("//") else "/api/me"


@app.get("/login", response_class=HTMLResponse)
async def login_page() -> str:
    """The login page: one link that starts the WeChat QR login."""
    return '<!doctype html><title>Log in</title><a href="/auth/wechat/start?next=/api/me">Log in with WeChat</a>'


@app.get("/auth/wechat/start")
async def wechat_start(request: Request, next: str | None = None) -> Any:
    """Remember where to go, then send the browser to WeChat's QR page (the state goes into the session)."""
    request.session["next"] = safe_next(next)
    return await oauth.wechat.authorize_redirect(request, str(request.url_for("wechat_callback")))


@app.get("/auth/wechat/callback", name="wechat_callback")
async def wechat_callback(request: Request, db: Db) -> RedirectResponse:
    """Exchange the code, read the profile, find or create the user, log them in."""
    try:
        token = await oauth.wechat.authorize_access_token(request)
    except OAuthError as exc:
        raise HTTPException(400, f"WeChat login failed: {exc.error}") from exc
    resp = await oauth.wechat.get("sns/userinfo", token=token, params={"openid": token["openid"], "lang": "zh_CN"})
    profile = resp.json()
    if profile.get("errcode"):
        raise HTTPException(502, f"WeChat profile unavailable: {profile.get('errcode')}")
    user = await upsert_account(db, token, profile)
    destination = request.session.pop("next", "/api/me")
    request.session["user_id"] = user.id
    cycle_session(request)
    return RedirectResponse(destination, status_code=302)


async def upsert_account(db: AsyncSession, token: dict[str, Any], profile: dict[str, Any]) -> User:
    """The user owning this openid, created on first login; tokens and profile stored."""
    account = await db.scalar(
        select(WechatAccount).options(selectinload(WechatAccount.user))
        .where(WechatAccount.appid == settings.wechat_appid, WechatAccount.openid == token["openid"]))
    now = utcnow()
    nickname, avatar = profile.get("nickname", ""), profile.get("headimgurl", "")
    if account is None:
        user = User(nickname=nickname, avatar_url=avatar, last_login_at=now)
        account = WechatAccount(user=user, appid=settings.wechat_appid, openid=token["openid"])
        db.add(account)
    else:
        user = account.user
        user.last_login_at = now
    account.unionid = token.get("unionid") or profile.get("unionid")
    account.nickname, account.avatar_url = nickname, avatar
    account.access_token, account.refresh_token = token["access_token"], token["refresh_token"]
    account.expires_at = now + timedelta(seconds=int(token.get("expires_in", 7200)))
    await db.commit()
    return user


@app.get("/api/me")
async def me(request: Request, db: Db) -> MeOut:
    """The logged-in user and their WeChat identities; 401 when anonymous."""
    user_id = request.session.get("user_id")
    user = await db.get(User, user_id, options=[selectinload(User.wechat_accounts)]) if user_id else None
    if user is None:
        raise HTTPException(401, "login required")
    wechat = [WechatOut.model_validate(a, from_attributes=True) for a in user.wechat_accounts]
    return MeOut(id=user.id, nickname=user.nickname, avatar_url=user.avatar_url, wechat=wechat)
