"""WeChat's push sender: POST each event to the account's server, retry, judge replies, log every delivery."""

from __future__ import annotations

import asyncio
import secrets
from collections import deque
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import aiohttp
from yarl import URL

from webapp.wechat_sim import ids, mp_crypto, push_wire
from webapp.wechat_sim.mp_events import PushMessage
from webapp.wechat_sim.push_config import PushConfig
from webapp.wechat_sim.push_wire import Verdict, Wire

if TYPE_CHECKING:
    from webapp.wechat_sim.state import SimulatorState

USER_NOTICE = "该公众号暂时无法提供服务，请稍后再试"
DELIVERY_LOG_SIZE = 500
REPLY_SHOWN_CHARS = 300
HEADERS = {"Content-Type": "text/xml", "User-Agent": "Mozilla/4.0"}


@dataclass
class Attempt:
    """One HTTP request of a delivery (copy 2 is a duplicate delivery injected by a push fault)."""

    copy: int
    number: int
    http_status: int | None
    ok: bool
    verdict: str
    elapsed_ms: float
    reply: str


@dataclass
class Delivery:
    """One event and every attempt to deliver it."""

    id: int
    appid: str
    event: str
    openid: str
    time: float
    message: str
    url: str | None
    mode: str | None
    status: str = "pending"  # pending → delivered | failed; or not_configured | dropped
    notice: str | None = None
    duplicate: bool = False
    attempts: list[Attempt] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """Return the control API's view of this delivery."""
        return asdict(self)


class DeliveryLog:
    """The last DELIVERY_LOG_SIZE deliveries, oldest first."""

    def __init__(self) -> None:
        self._entries: deque[Delivery] = deque(maxlen=DELIVERY_LOG_SIZE)
        self._next_id = 1

    def new(self, message: PushMessage, config: PushConfig | None, now: float) -> Delivery:
        """Open a record for a message about to be pushed."""
        delivery = Delivery(self._next_id, message.appid, message.event, message.from_user, now, message.xml,
                            config.url if config else None, config.mode if config else None)
        self._next_id += 1
        self._entries.append(delivery)
        return delivery

    def clear(self) -> None:
        """Forget every delivery."""
        self._entries.clear()

    def __iter__(self) -> Iterator[Delivery]:
        return iter(list(self._entries))


class PushSender:
    """Delivers pushes over one shared HTTP session; deliveries run as tasks that survive their caller."""

    def __init__(self, state: SimulatorState, http: aiohttp.ClientSession) -> None:
        self._state = state
        self.http = http
        self._tasks: set[asyncio.Task[Delivery]] = set()

    def start(self, message: PushMessage) -> tuple[Delivery, asyncio.Task[Delivery]]:
        """Record the delivery and start sending it in the background."""
        state = self._state
        config = state.push_configs.get(message.appid)
        delivery = state.deliveries.new(message, config, state.now())
        task = asyncio.create_task(self._run(delivery, message, config))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return delivery, task

    async def deliver(self, message: PushMessage) -> Delivery:
        """Send a message and return its finished delivery record."""
        _, task = self.start(message)
        return await asyncio.shield(task)

    async def drain(self) -> None:
        """Wait until every delivery started so far has finished (for tests and clean shutdowns)."""
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def close(self) -> None:
        """Cancel deliveries still running (on shutdown)."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _run(self, delivery: Delivery, message: PushMessage, config: PushConfig | None) -> Delivery:
        """Deliver once (or twice under a duplicate fault), each copy with up to `attempts` tries."""
        if config is None:
            delivery.status = "not_configured"
            return delivery
        fault = self._state.faults.take_push(message.appid)
        if fault is not None and fault.push == "drop":
            delivery.status = "dropped"
            return delivery
        wire = push_wire.build(config, message, delivery.time)
        delivery.duplicate = fault is not None and fault.push == "duplicate"
        copies = (1, 2) if delivery.duplicate else (1,)
        if fault is not None and fault.concurrent:
            results = await asyncio.gather(*(self._copy(delivery, config, wire, c) for c in copies))
        else:
            results = [await self._copy(delivery, config, wire, c) for c in copies]
        delivery.status = "delivered" if all(results) else "failed"
        delivery.notice = None if all(results) else USER_NOTICE
        return delivery

    async def _copy(self, delivery: Delivery, config: PushConfig, wire: Wire, copy: int) -> bool:
        """Try one copy of the delivery up to `attempts` times, the identical request each time."""
        for number in range(1, config.attempts + 1):
            attempt = await self._attempt(config, delivery.appid, wire, copy, number)
            delivery.attempts.append(attempt)
            if attempt.ok:
                return True
        return False

    async def _attempt(self, config: PushConfig, appid: str, wire: Wire, copy: int, number: int) -> Attempt:
        """POST once, within timeout_s, and judge the reply."""
        loop = asyncio.get_running_loop()
        started, status, reply = loop.time(), None, b""
        try:
            async with asyncio.timeout(config.timeout_s):
                async with self.http.post(URL(config.url).update_query(wire.query), data=wire.body,
                                           headers=HEADERS, allow_redirects=False) as resp:
                    status, reply = resp.status, await resp.read()
            verdict = push_wire.judge(config, appid, status, reply)
        except TimeoutError:
            verdict = Verdict(False, f"timeout: no answer within {config.timeout_s:g} s")
        except aiohttp.ClientError as exc:
            verdict = Verdict(False, f"no answer: {type(exc).__name__}: {exc}")
        elapsed_ms = round((loop.time() - started) * 1000, 1)
        shown = reply[:REPLY_SHOWN_CHARS].decode("utf-8", "replace")
        return Attempt(copy, number, status, verdict.ok, verdict.reason, elapsed_ms, shown)


async def verify_url(http: aiohttp.ClientSession, config: PushConfig, now: float) -> dict[str, Any]:
    """Send the server-URL check (§10.1): a signed GET that must echo `echostr` exactly."""
    timestamp, nonce, echostr = str(int(now)), ids.new_nonce(), str(secrets.randbelow(10**19))
    query = {"signature": mp_crypto.signature(config.token, timestamp, nonce), "echostr": echostr,
             "timestamp": timestamp, "nonce": nonce}
    status, reply = None, b""
    try:
        async with asyncio.timeout(config.timeout_s):
            async with http.get(URL(config.url).update_query(query), allow_redirects=False) as resp:
                status, reply = resp.status, await resp.read()
    except (TimeoutError, aiohttp.ClientError) as exc:
        return {"ok": False, "http_status": None, "reply": "", "reason": f"no answer: {type(exc).__name__}"}
    ok = status == 200 and reply == echostr.encode()
    reason = "echostr echoed" if ok else f"HTTP {status}, expected the body to be exactly {echostr}"
    return {"ok": ok, "http_status": status, "reply": reply[:REPLY_SHOWN_CHARS].decode("utf-8", "replace"),
            "reason": reason}
