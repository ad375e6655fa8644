"""Log output: one line per request, human-readable text by default or one JSON object per line.

The request line carries vendor, operation, method, path (never the query string: presigned URLs
carry signatures there), status, duration, correlation id and the scenario rule that answered.
Headers and bodies are never logged, so tokens, API keys, client secrets and signatures cannot leak
through the log; the journal (``/__admin/requests``) keeps headers, masked.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import pythonjsonlogger.json

from mock_server.core.clock import iso_ms, wall_time

FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
REQUEST_LOGGER = "mock_server.requests"
# Attribute of a LogRecord holding structured fields (JSON output keeps them as keys).
FIELDS = "sandbox_fields"
QUIET_PATHS = frozenset({"/__admin/health"})  # docker and CI poll it every few seconds


# Control characters (C0, DEL, C1) and Unicode's line and paragraph separators, as escapes in text lines: a
# request's path and correlation id come from the client, and a decoded %0A or %1B must not start a forged
# line or colour the terminal. (JSON lines escape them already.)
_ESCAPES = {
    code: {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(
        chr(code), f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    )
    for code in (*range(0x20), *range(0x7F, 0xA0), 0x2028, 0x2029)
}


def printable(text: str) -> str:
    """``text`` on one line: control characters escaped (``\\n``, ``\\x1b``...)."""
    return text if text.isprintable() else text.translate(_ESCAPES)


def request_line(fields: dict[str, Any]) -> str:
    """``qubs qubs.createReportAttachments POST /qubs/... 201 3.2ms cid=... rule=...``."""
    status = fields.get("status")
    duration = fields.get("durationMs")
    parts = [
        fields.get("vendor") or "-",
        fields.get("operation") or "-",
        fields["method"],
        fields["path"],
        str(status) if status is not None else "-",
        f"{duration:.1f}ms" if duration is not None else "-",
        f"cid={fields['correlationId']}",
    ]
    if fields.get("scenarioRule"):
        parts.append(f"rule={fields['scenarioRule']}")
    if fields.get("error"):
        parts.append(f"error={fields['error']}")
    return " ".join(parts)


def log_request(logger: logging.Logger, entry: dict[str, Any]) -> None:
    """Write the request line for a journal entry (already summarised, secrets masked or dropped)."""
    if entry["path"] in QUIET_PATHS or not logger.isEnabledFor(logging.INFO):
        return
    fields = {
        "vendor": entry.get("vendor"),
        "operation": entry.get("operation"),
        "method": entry["method"],
        "path": entry["path"],
        "status": entry.get("status"),
        "durationMs": entry.get("durationMs"),
        "correlationId": entry["correlationId"],
        "scenarioRule": entry.get("scenarioRule"),
        # The exception's type only: its message may quote request data.
        "error": entry["error"].split(":", 1)[0] if entry.get("error") else None,
    }
    line = request_line(fields)
    if not _write_text_line(logger, line):
        logger.info(line, extra={FIELDS: fields})


# The handler ``configure`` installed for text lines (None: JSON lines, or not configured).
_text_handler: logging.StreamHandler | None = None  # type: ignore[type-arg]


def _write_text_line(logger: logging.Logger, message: str) -> bool:
    """Write an info line the way the text handler ``configure`` installed would, without a LogRecord
    or the logging module's dispatch; False (nothing written) unless that handler is the only place
    the line would go, unfiltered.

    Measured (QUBS create, 1 item, bench/PROFILE.md): in process the line costs 14.3 us through
    ``logger.info`` (a record 3.5, the formatter 3.8, the dispatch, the write) and 8.0 here; the whole
    server spends 163-167 us of CPU per request instead of 180-186, about what it spends with no line.
    """
    handler = _text_handler
    if handler is None or logger.filters or handler.filters or handler.level > logging.INFO:
        return False
    if type(handler.formatter) is not TextFormatter:  # another formatter set since: it writes the line
        return False
    parent = logger.parent
    if logger.handlers or not logger.propagate or parent is None or parent.filters:
        return False
    if parent.handlers != [handler] or parent.propagate:
        return False
    text = TextFormatter.line(iso_ms(wall_time()), "INFO", printable(message)) + handler.terminator
    with handler.lock:  # type: ignore[union-attr]
        try:
            stream = handler.stream
            stream.write(text)
            stream.flush()
        except Exception:  # noqa: BLE001 - as StreamHandler.emit: a broken stream never fails the request
            return False
    return True


def _timestamp(record: logging.LogRecord) -> str:
    # The log shows wall time (when it happened); the journal shows the sandbox clock.
    return iso_ms(record.created)


class JsonFormatter(pythonjsonlogger.json.JsonFormatter):
    """One JSON object per line (python-json-logger): time, level, logger, message, the structured fields."""

    def __init__(self) -> None:
        super().__init__(json_default=str)

    def add_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        log_data.update(
            time=_timestamp(record),
            level=record.levelname.lower(),
            logger=record.name,
            message=record.message,
        )
        log_data.update(getattr(record, FIELDS, None) or {})
        if message_dict.get("exc_info"):
            log_data["exception"] = message_dict["exc_info"]


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(message)s")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return _timestamp(record)

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 - logging's name
        record.message = printable(record.message)  # the message on one line; a traceback follows it
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        # The base class's result for the common case (no traceback or stack), built directly: this
        # runs once per request.
        if record.exc_info or record.exc_text or record.stack_info:
            return super().format(record)
        record.message = printable(record.getMessage())
        record.asctime = _timestamp(record)
        return self.line(record.asctime, record.levelname, record.message)

    @staticmethod
    def line(asctime: str, levelname: str, message: str) -> str:
        """A line without a traceback, as the format string above lays it out (``message`` printable)."""
        return f"{asctime} {levelname:<7} {message}"


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is when a record is emitted (not when configured), so a
    replaced stderr (test capture, a closed pipe swapped out) never receives stale writes."""

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure(log_format: str, log_level: str, stream: TextIO | None = None) -> logging.Handler:
    """Send the sandbox's and uvicorn's loggers to ``stream`` (stderr) in one format.

    uvicorn's own info lines (startup chatter) only show at debug level; its warnings and errors,
    such as requests cancelled when the shutdown grace period ends, always do.
    """
    level = getattr(logging, log_level.upper(), logging.INFO)
    # Neither format shows where a line was logged from, nor its thread or process: the logging HOWTO's
    # "Optimization" switches skip finding them for every record (about 5 us of a QUBS create's ~140 at
    # info level, bench/PROFILE.md). Process-wide, as the handlers installed here are.
    logging._srcfile = None  # type: ignore[attr-defined]
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    global _text_handler
    handler = logging.StreamHandler(stream) if stream is not None else StderrHandler()
    handler.setFormatter(formatter(log_format))
    _text_handler = handler if log_format != "json" else None
    server_level = level if level <= logging.DEBUG else max(level, logging.WARNING)
    for name, logger_level in (("mock_server", level), ("uvicorn", server_level)):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(logger_level)
        logger.propagate = False
    return handler


def emit(log_format: str, message: str, stream: TextIO | None = None, **fields: Any) -> None:
    """A lifecycle message (banner, stop) written regardless of log level, in the chosen format."""
    out = stream or sys.stderr
    if log_format == "json":
        record = logging.LogRecord("mock_server", logging.INFO, __file__, 0, message, None, None)
        setattr(record, FIELDS, fields)
        out.write(JsonFormatter().format(record) + "\n")
    else:
        out.write(message + "\n")
    out.flush()
