"""The async peer: FastAPI + Authlib's Starlette client + SQLAlchemy asyncio, sessions kept in PostgreSQL."""
