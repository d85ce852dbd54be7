"""A dict whose entries disappear after a deadline, purged on insert."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class ExpiringStore(Generic[K, V]):
    """O(1) lookups; every insert first drops entries past their deadline (amortized O(log n))."""

    def __init__(self, now: Callable[[], float]) -> None:
        self._now = now
        self._items: dict[K, tuple[float, int, V]] = {}
        self._heap: list[tuple[float, int, K]] = []
        self._seq = itertools.count()

    def put(self, key: K, value: V, keep_until: float) -> None:
        """Store `value` under `key` until `keep_until` (epoch seconds)."""
        self.purge()
        seq = next(self._seq)
        self._items[key] = (keep_until, seq, value)
        heapq.heappush(self._heap, (keep_until, seq, key))

    def get(self, key: K) -> V | None:
        """Return the live value for `key`, or None."""
        entry = self._items.get(key)
        if entry is None or entry[0] <= self._now():
            return None
        return entry[2]

    def pop(self, key: K) -> V | None:
        """Remove `key` and return its value if it was live."""
        value = self.get(key)
        self._items.pop(key, None)
        return value

    def purge(self) -> int:
        """Drop every entry whose deadline has passed; return how many."""
        now, dropped = self._now(), 0
        while self._heap and self._heap[0][0] <= now:
            _, seq, key = heapq.heappop(self._heap)
            entry = self._items.get(key)
            if entry is not None and entry[1] == seq:
                del self._items[key]
                dropped += 1
        return dropped

    def values(self) -> Iterator[V]:
        """Iterate over the live values."""
        now = self._now()
        return (v for until, _, v in list(self._items.values()) if until > now)

    def __len__(self) -> int:
        return len(self._items)
