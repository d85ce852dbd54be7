"""Fault injection rules (on requests, on successful answers' fields, on pushes) and the call log."""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

MASKED_PARAMS = frozenset({"secret", "code", "js_code", "access_token", "refresh_token", "session_key"})
CALL_LOG_SIZE = 1000
LOGGED_PREFIXES = ("/sns/", "/cgi-bin/", "/wxa/")
DEFAULT_PREFIX = "/sns/"
PUSH_KINDS = ("duplicate", "drop")
MAX_DELAY_S = 600.0
_TYPES: dict[str, tuple[type, ...]] = {
    "path": (str,), "errcode": (int,), "errmsg": (str,), "delay_s": (int, float), "http_status": (int,),
    "body": (str,), "drop": (bool,), "times": (int,), "fields": (dict,), "push": (str,), "concurrent": (bool,),
    "appid": (str,),
}
_REQUEST_KINDS = ("errcode", "delay_s", "http_status", "body", "drop")


@dataclass
class Fault:
    """One injected failure, consumed `times` times by matching requests, answers or pushes."""

    id: int
    path: str | None = None
    errcode: int | None = None
    errmsg: str | None = None
    delay_s: float | None = None
    http_status: int | None = None
    body: str | None = None
    drop: bool = False
    times: int = 1
    fields: dict[str, Any] | None = None
    push: str | None = None
    concurrent: bool | None = None
    appid: str | None = None

    def matches(self, path: str) -> bool:
        """Return True if this fault applies to `path` (a path ending in / is a prefix; none means /sns/)."""
        pattern = self.path or DEFAULT_PREFIX
        return path.startswith(pattern) if pattern.endswith("/") else path == pattern

    def as_json(self) -> dict[str, Any]:
        """Return the control API's view of this fault."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def _validate(spec: Mapping[str, Any]) -> None:
    """Refuse unknown keys, wrong types and combinations that mean nothing."""
    for key, value in spec.items():
        if key not in _TYPES:
            raise ValueError(f"unknown fault field {key!r}; known: {', '.join(_TYPES)}")
        if value is not None and (not isinstance(value, _TYPES[key]) or (isinstance(value, bool)
                                                                        and bool not in _TYPES[key])):
            raise ValueError(f"{key} has the wrong type: {value!r}")
    if spec.get("times") is not None and spec["times"] < 1:
        raise ValueError("times must be at least 1")
    if spec.get("delay_s") is not None and not 0 <= spec["delay_s"] <= MAX_DELAY_S:
        raise ValueError(f"delay_s must be from 0 to {MAX_DELAY_S:g}")
    if spec.get("http_status") is not None and not 100 <= spec["http_status"] <= 599:
        raise ValueError("http_status must be 100-599")
    kinds = [k for k in (*_REQUEST_KINDS, "fields", "push") if spec.get(k) not in (None, False)]
    if "push" in kinds and (len(kinds) > 1 or spec.get("path")):
        raise ValueError("a push fault takes only push, times, concurrent and appid")
    if "push" in kinds and spec["push"] not in PUSH_KINDS:
        raise ValueError(f"push must be one of {', '.join(PUSH_KINDS)}")
    if "push" not in kinds and (spec.get("concurrent") is not None or spec.get("appid") is not None):
        raise ValueError("concurrent and appid apply to push faults only")
    if "fields" in kinds and len(kinds) > 1:
        raise ValueError("fields cannot be combined with errcode, delay_s, http_status, body or drop")


class FaultBook:
    """Pending faults, first match wins; field and push faults are kept apart from request faults."""

    def __init__(self) -> None:
        self._requests: list[Fault] = []
        self._fields: list[Fault] = []
        self._pushes: list[Fault] = []
        self._next_id = 1

    def add(self, spec: Mapping[str, Any]) -> Fault:
        """Register a fault from its JSON description, or raise ValueError saying what is wrong."""
        _validate(spec)
        fault = Fault(id=self._next_id, **{k: v for k, v in spec.items() if v is not None})
        if fault.delay_s is not None:
            fault.delay_s = float(fault.delay_s)
        self._next_id += 1
        target = self._pushes if fault.push else self._fields if fault.fields is not None else self._requests
        target.append(fault)
        return fault

    @property
    def has_fields(self) -> bool:
        """True when some answer-fields fault is pending (keeps the hot path to one check)."""
        return bool(self._fields)

    def take(self, path: str) -> Fault | None:
        """Return the first request fault for `path` and count one use of it."""
        return _take(self._requests, lambda f: f.matches(path))

    def take_fields(self, path: str) -> Fault | None:
        """Return the first fields fault for `path` (call only for a successful answer)."""
        return _take(self._fields, lambda f: f.matches(path))

    def take_push(self, appid: str) -> Fault | None:
        """Return the first push fault for this account."""
        return _take(self._pushes, lambda f: f.appid in (None, appid))

    def clear(self) -> None:
        """Forget every pending fault."""
        self._requests.clear()
        self._fields.clear()
        self._pushes.clear()

    def as_json(self) -> list[dict[str, Any]]:
        """Return the pending faults in the order they were added."""
        return [f.as_json() for f in sorted([*self._requests, *self._fields, *self._pushes], key=lambda f: f.id)]


def _take(faults: list[Fault], match: Any) -> Fault | None:
    """Count one use of the first matching fault, dropping it when used up."""
    for fault in faults:
        if match(fault):
            fault.times -= 1
            if fault.times == 0:
                faults.remove(fault)
            return fault
    return None


def merge_fields(body: Mapping[str, Any], fields: Mapping[str, Any]) -> dict[str, Any]:
    """Return body with `fields` merged in; a None value deletes the field."""
    merged = dict(body)
    for key, value in fields.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


def mask_params(params: Mapping[str, str]) -> dict[str, str]:
    """Return the parameters with secrets, codes and tokens replaced by "***"."""
    return {k: ("***" if k in MASKED_PARAMS and v else v) for k, v in params.items()}


class CallLog:
    """The last CALL_LOG_SIZE /sns, /cgi-bin and /wxa calls: path, masked query, errcode."""

    def __init__(self) -> None:
        self.entries: deque[dict[str, Any]] = deque(maxlen=CALL_LOG_SIZE)

    def record(self, at: float, method: str, path: str, params: Mapping[str, str],
               http_status: int, errcode: int | None, fault: int | None) -> None:
        """Append one call."""
        self.entries.append({"time": at, "method": method, "path": path, "query": mask_params(params),
                             "http_status": http_status, "errcode": errcode, "fault": fault})
