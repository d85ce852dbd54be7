"""argon2id password hashing with bounded concurrency, off the event loop.

Each argon2 hash or verification holds 64 MiB and tens of milliseconds of CPU: a burst of logins
must queue for a few slots rather than run all at once and exhaust memory.
"""

from __future__ import annotations

import asyncio
import os

from argon2 import Parameters

from webapp.security import PRODUCTION_PARAMETERS, Argon2, hash_password, needs_rehash, verify_password


class Passwords:
    """Hash and verify passwords in worker threads, at most `concurrency` at a time in this process."""

    def __init__(self, *, concurrency: int | None = None, parameters: Parameters = PRODUCTION_PARAMETERS) -> None:
        self.concurrency = concurrency or os.cpu_count() or 2
        self._slots = asyncio.Semaphore(self.concurrency)
        self._argon2 = Argon2(parameters)

    async def warm(self) -> None:
        """Make the unknown-user dummy hash now, so that no request pays for it."""
        await asyncio.to_thread(lambda: self._argon2.dummy_hash)

    async def hash(self, password: str) -> str:
        """An argon2id hash of `password`."""
        async with self._slots:
            return await asyncio.to_thread(hash_password, password, self._argon2)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """Check a password; with no hash (unknown user) still spend the time of one verification."""
        async with self._slots:
            return await asyncio.to_thread(verify_password, password_hash, password, self._argon2)

    def needs_rehash(self, password_hash: str) -> bool:
        """True when the hash was made with weaker parameters than this instance's."""
        return needs_rehash(password_hash, self._argon2)
