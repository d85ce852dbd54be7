"""Logging set-up for every command: text or one JSON object per line, request ids, values escaped."""

from __future__ import annotations

import atexit
import io
import json
import logging
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TextIO

from webapp.observability import context
from webapp.observability.escape import escape, escape_block
from webapp.settings import Settings

QUIET = ("aiohttp.access", "alembic.runtime.plugins", "pgserver")
# Attributes every LogRecord has; anything else on a record came from `extra=` and becomes a JSON key.
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime", "taskName"}
_CONTEXT = ("request_id", "user_id")
ACCESS_LOGGER = "webapp.access"
_JSON = json.JSONEncoder(ensure_ascii=False, default=str)  # json.dumps with options builds one per call
_ACCESS, _WEBAPP = logging.getLogger(ACCESS_LOGGER), logging.getLogger("webapp")


class RequestContextFilter(logging.Filter):
    """Adds request_id and user_id to records written while a request is handled (unless given)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Annotate the record; never drops one."""
        ctx = context.current()
        if ctx is not None:
            if not hasattr(record, "request_id"):
                record.request_id = ctx.request_id
            if not hasattr(record, "user_id") and (user_id := ctx.user_id) is not None:
                record.user_id = user_id
        return True


class _RedactingFormatter(logging.Formatter):
    """Tracebacks of database errors without PostgreSQL's text, which quotes row values (DETAIL: Key …)."""

    def __init__(self) -> None:
        super().__init__()
        self._second: tuple[int, str] = (-1, "")

    def _per_second(self, ns: int) -> tuple[str, int]:
        """The time `ns` as _render_second(its second), rendered once per second, and its milliseconds."""
        second, ms = divmod(ns // 1_000_000, 1000)
        cached = self._second
        if cached[0] != second:
            cached = self._second = (second, self._render_second(second))
        return cached[1], ms

    def _render_second(self, second: int) -> str:
        raise NotImplementedError

    def formatException(self, ei: Any) -> str:
        """The traceback; a PostgreSQL error anywhere in the chain is shown by class, SQLSTATE and table."""
        from webapp.db import loggable

        _kind, exc, tb = ei
        if exc is None:
            return super().formatException(ei)
        safe = loggable(exc)
        return super().formatException((type(safe), safe, tb) if safe is not exc else ei)


class TextFormatter(_RedactingFormatter):
    """`time LEVEL logger [request_id=… user_id=…]: message`; a traceback follows, indented."""

    def format_access(self, ns: int, fields: dict[str, Any], message: str) -> str:
        """The line format() writes for webapp.access's INFO record of `fields`, without making the record."""
        where = ""
        for key in _CONTEXT:
            if key in fields:
                where += f"{' ' if where else ' ['}{key}={escape(str(fields[key]))}"
        second, ms = self._per_second(ns)
        return f"{second},{ms:03d} INFO {ACCESS_LOGGER}{where}{']' if where else ''}: {escape(message)}"

    def _render_second(self, second: int) -> str:
        # formatTime's text: its default format (the milliseconds follow as default_msec_format puts them).
        return time.strftime(self.default_time_format, self.converter(second))

    def format(self, record: logging.LogRecord) -> str:
        """One escaped line (plus an indented traceback, which cannot pass for a line of its own)."""
        known = [f"{key}={escape(str(getattr(record, key)))}" for key in _CONTEXT if hasattr(record, key)]
        where = f" [{' '.join(known)}]" if known else ""
        line = f"{self.formatTime(record)} {record.levelname} {record.name}{where}: {escape(record.getMessage())}"
        extra = record.exc_info and self.formatException(record.exc_info) or record.exc_text or ""
        if record.stack_info:
            extra = f"{extra}\n{self.formatStack(record.stack_info)}".strip("\n")
        return f"{line}\n{textwrap.indent(escape_block(extra), '    ')}" if extra else line


class JsonFormatter(_RedactingFormatter):
    """One JSON object per record: time, level, logger, message and every extra field, strings escaped."""

    def format_access(self, ns: int, fields: dict[str, Any], message: str) -> str:
        """The line format() writes for webapp.access's INFO record of `fields`, without making the record."""
        second, ms = self._per_second(ns)
        entry: dict[str, Any] = {"time": f"{second}.{ms:03d}Z", "level": "INFO", "logger": ACCESS_LOGGER,
                                 "message": escape(message)}
        for key, value in fields.items():
            entry[key] = _json_value(value)
        return _JSON.encode(entry)

    def _render_second(self, second: int) -> str:
        return datetime.fromtimestamp(second, UTC).isoformat(timespec="seconds")[:19]

    def format(self, record: logging.LogRecord) -> str:
        """Serialise the record on one line."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": escape(record.getMessage()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = _json_value(value)
        if record.exc_info:
            entry["exc_info"] = escape_block(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack_info"] = escape_block(self.formatStack(record.stack_info))
        return _JSON.encode(entry)


def _json_value(value: object) -> object:
    if value is None or isinstance(value, (bool, int, float)):
        return value
    return escape(str(value))


class LogStream(io.TextIOBase):
    """A stdout that turns each printed line into a log record (JSON mode: banners must be JSON too)."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        self._pending = ""

    def writable(self) -> bool:
        """Always."""
        return True

    def write(self, text: str) -> int:
        """Log every complete line; keep a partial one for later."""
        *lines, self._pending = (self._pending + text).split("\n")
        for line in lines:
            if line.strip():
                self._logger.info("%s", line)
        return len(text)

    def flush(self) -> None:
        """Log a pending partial line."""
        if self._pending.strip():
            self._logger.info("%s", self._pending)
        self._pending = ""


class BatchingStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes INFO lines (the access log) in batches, at most FLUSH_S late; WARNING and above at once.

    Under load a write per request line is a system call per request; batching them costs at most
    FLUSH_S of delay on routine lines and nothing on the ones that matter.
    """

    FLUSH_S = 0.5
    LIMIT = 64 * 1024

    def __init__(self, stream: TextIO) -> None:
        super().__init__(stream)
        self._pending: list[str] = []
        self._size = 0
        self._wake = threading.Event()
        threading.Thread(target=self._flusher, name="log-flusher", daemon=True).start()
        atexit.register(self.flush)

    def emit(self, record: logging.LogRecord) -> None:
        """Queue the formatted line; write now if it is a warning or the batch is full."""
        try:
            line = self.format(record) + self.terminator
        except Exception:  # noqa: BLE001  (logging must never raise into the caller)
            self.handleError(record)
            return
        self.queue(line, urgent=record.levelno >= logging.WARNING)

    def queue(self, line: str, *, urgent: bool = False) -> None:
        """Queue one finished line (ending in the terminator); write now if urgent or the batch is full."""
        with self.lock:  # type: ignore[union-attr]
            self._pending.append(line)
            self._size += len(line)
            urgent = urgent or self._size >= self.LIMIT
        if urgent:
            self.flush()
        elif not self._wake.is_set():  # set() takes a lock and notifies: once per batch is enough
            self._wake.set()

    def write_access(self, fields: dict[str, Any], message: str) -> None:
        """webapp.access's line straight from its fields: what emit() would write for the record, a fifth the cost.

        A record per request (made, filtered, walked up three loggers, formatted) was a tenth of a
        logged-in JSON request's time; the access line needs none of it when this handler is the only way out.
        """
        formatter = self.formatter
        if not isinstance(formatter, (TextFormatter, JsonFormatter)):
            raise TypeError("write_access needs the site's formatter")
        self.queue(formatter.format_access(time.time_ns(), fields, message) + self.terminator)

    def flush(self) -> None:
        """Write what is queued, in one write."""
        with self.lock:  # type: ignore[union-attr]
            if not self._pending:
                return
            text, self._pending, self._size = "".join(self._pending), [], 0
            try:
                self.stream.write(text)
                self.stream.flush()
            except (OSError, ValueError):  # the stream went away (shutdown): nothing left to tell
                pass

    def _flusher(self) -> None:
        while True:
            self._wake.wait()
            time.sleep(self.FLUSH_S)  # batch what arrives meanwhile (a thread: never on the event loop)
            self._wake.clear()
            self.flush()


_direct: BatchingStreamHandler | None = None  # the handler configure_logging installed


def access_sink() -> BatchingStreamHandler | None:
    """The handler access lines may go to directly: configure_logging's, while it is still the only way out.

    None (log a record instead) once anything else listens: another handler on the root or on the way
    (a test's capture, an operator's extra handler), a filter, or a level that drops INFO access lines.
    """
    handler = _direct
    if handler is None:
        return None
    root = logging.root
    if root.handlers != [handler] or _ACCESS.handlers or _ACCESS.filters or _WEBAPP.handlers or _WEBAPP.filters:
        return None
    if not _ACCESS.propagate or not _ACCESS.isEnabledFor(logging.INFO) or root.filters:
        return None
    return handler if len(handler.filters) == 1 and isinstance(handler.filters[0], RequestContextFilter) else None


def configure_logging(settings: Settings, *, stream: TextIO | None = None, capture_stdout: bool = False) -> None:
    """Root logging for a command: LOG_FORMAT's formatter on stderr; in JSON mode optionally stdout too."""
    # No line shows the caller's file and line, thread or process (the logging HOWTO's "Optimization"):
    # every record, one per request at least, skips a stack walk and three look-ups.
    logging._srcfile = None  # the documented switch for "no caller information"
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    as_json = settings.log_format == "json"
    handler = BatchingStreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if as_json else TextFormatter())
    handler.addFilter(RequestContextFilter())
    root = logging.getLogger()
    for old in root.handlers[:]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    global _direct
    _direct = handler
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
    logging.captureWarnings(True)
    if as_json:
        sys.excepthook = _log_uncaught
        if capture_stdout:
            sys.stdout = LogStream(logging.getLogger("webapp.stdout"))


def _log_uncaught(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(kind, KeyboardInterrupt):
        sys.__excepthook__(kind, exc, tb)
        return
    logging.getLogger("webapp").critical("uncaught %s", kind.__name__, exc_info=(kind, exc, tb))
