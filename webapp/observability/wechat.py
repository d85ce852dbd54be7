"""One log line and the metrics for one WeChat API call: endpoint, errcode, time and WeChat's rid."""

from __future__ import annotations

import logging
import re

from webapp.observability import metrics

logger = logging.getLogger("webapp.wechat")
# WeChat appends "rid: 6571a2b3-1c2d3e4f-5a6b7c8d" to errmsg (older answers: "hints: [ req_id: XXXX ]").
_RID_RE = re.compile(r"\b(?:rid|req_id)\s*:\s*([A-Za-z0-9-]{1,64})")


def wechat_rid(errmsg: str) -> str | None:
    """WeChat's request id from an errmsg, the one thing of it worth quoting to WeChat support."""
    match = _RID_RE.search(errmsg or "")
    return match.group(1) if match else None


def wechat_call_logged(
    endpoint: str, errcode: int | str, seconds: float, *, errmsg: str = "", reason: str = ""
) -> None:
    """Record a WeChat call from the client's chokepoint: metrics, then one log line without any token.

    errcode: WeChat's errcode (0 on success) or "transport" when no usable answer came; errmsg: WeChat's,
    only its rid is logged; reason: a fixed word for transport failures (timeout, http_502, bad_json).
    """
    endpoint = endpoint.partition("?")[0]  # a path, never a query with its code or token
    metrics.wechat_call(endpoint, errcode, seconds)
    rid = wechat_rid(errmsg)
    ok = str(errcode) == "0"
    fields = {"endpoint": endpoint, "errcode": str(errcode), "duration_ms": round(seconds * 1000), "rid": rid}
    if reason:
        fields["reason"] = reason[:40]
    detail = f" ({fields['reason']})" if reason else ""
    logger.log(
        logging.INFO if ok else logging.WARNING,
        "wechat %s errcode=%s%s %dms rid=%s",
        endpoint,
        errcode,
        detail,
        fields["duration_ms"],
        rid or "-",
        extra=fields,
    )
