"""Fault injection rules and the call log of /sns requests."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

MASKED_PARAMS = frozenset({"secret", "code", "access_token", "refresh_token"})
CALL_LOG_SIZE = 1000


@dataclass
class Fault:
    """One injected failure, consumed `times` times by matching requests."""

    id: int
    path: str | None = None
    errcode: int | None = None
    errmsg: str | None = None
    delay_s: float | None = None
    http_status: int | None = None
    body: str | None = None
    drop: bool = False
    times: int = 1

    def matches(self, path: str) -> bool:
        """Return True if this fault applies to a request for `path`."""
        return path == self.path if self.path else path.startswith("/sns/")

    def as_json(self) -> dict[str, Any]:
        """Return the control API's view of this fault."""
        return {k: v for k, v in asdict(self).items() if v is not None}


class FaultBook:
    """Pending faults, first match wins."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, spec: Mapping[str, Any]) -> Fault:
        """Register a fault from its JSON description."""
        fault = Fault(
            id=self._next_id, path=spec.get("path"),
            errcode=_opt(int, spec.get("errcode")), errmsg=spec.get("errmsg"),
            delay_s=_opt(float, spec.get("delay_s")), http_status=_opt(int, spec.get("http_status")),
            body=spec.get("body"), drop=bool(spec.get("drop", False)), times=int(spec.get("times", 1)),
        )
        if fault.times < 1:
            raise ValueError("times must be at least 1")
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def take(self, path: str) -> Fault | None:
        """Return the first fault for `path` and count one use of it."""
        for fault in self._faults:
            if fault.matches(path):
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def clear(self) -> None:
        """Forget every pending fault."""
        self._faults.clear()

    def as_json(self) -> list[dict[str, Any]]:
        """Return the pending faults."""
        return [f.as_json() for f in self._faults]


def _opt(kind: type, value: Any) -> Any:
    """Convert `value` with `kind` unless it is None."""
    return None if value is None else kind(value)


def mask_params(params: Mapping[str, str]) -> dict[str, str]:
    """Return the parameters with secrets, codes and tokens replaced by "***"."""
    return {k: ("***" if k in MASKED_PARAMS and v else v) for k, v in params.items()}


class CallLog:
    """The last CALL_LOG_SIZE /sns calls: path, masked query, errcode."""

    def __init__(self) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=CALL_LOG_SIZE)

    def record(self, at: float, method: str, path: str, params: Mapping[str, str],
               http_status: int, errcode: int | None, fault: int | None) -> None:
        """Append one call."""
        self.entries.append({"time": at, "method": method, "path": path, "query": mask_params(params),
                             "http_status": http_status, "errcode": errcode, "fault": fault})
