"""Structured JSON logs through Powertools' Logger, keyed by function, request id and trigger.

``logger`` stands in for the running function's Powertools ``Logger``: ``logger.info("resized",
width=640)`` writes one JSON line carrying ``function``, ``request_id``, ``trigger`` and
``cold_start``, at the function's own ``log_level``. Powertools is imported on the first log call,
not on import: it pulls in botocore and costs tens of milliseconds, which a function that never logs
should not pay on its cold start.

Each invocation costs only a context variable set and reset: the keys of a line are worked out when
it is written, by a filter on the function's Powertools handler.
"""

from __future__ import annotations

import _thread
import json
import os
import sys
import time
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowfn.function import Handler

__all__ = ["FunctionLogger", "Invocation", "current", "enabled", "error", "invocation_var", "keys", "logger",
           "warm"]

_DEFAULT_SERVICE = "flowfn"

#: The invocation log lines belong to: (handler, Lambda context, whether it is a cold start).
Invocation = tuple["Handler", object, bool]

#: The running invocation: dispatch sets it to (handler, context, cold start) for each event and
#: resets it after; lines written meanwhile carry its keys.
invocation_var: ContextVar[Invocation | None] = ContextVar("flowfn_invocation", default=None)
#: Functions invoked before in this process: their next invocation is not a cold start.
warm: set[str] = set()


def keys(invocation: Invocation) -> dict[str, Any]:
    """The keys every line of ``invocation`` carries."""
    handler, context, cold = invocation
    return {"function": handler.settings.name,
            "request_id": str(getattr(context, "aws_request_id", "") or ""),
            "trigger": handler.trigger.kind, "cold_start": cold}


def _add_keys(record: Any) -> bool:
    # A filter on each flowfn Powertools handler: the running invocation's keys join the line
    # (keys the line was given itself win).
    invocation = invocation_var.get()
    if invocation is not None:
        fields = record.__dict__
        for key, value in keys(invocation).items():
            fields.setdefault(key, value)
    return True


class _Stdout:
    """Writes to whatever ``sys.stdout`` is at the time (tests and run-local swap it)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


_loggers: dict[str, Any] = {}
_lock = _thread.allocate_lock()  # the threading module costs a millisecond to import


def _powertools(service: str, level: str) -> Any:
    found = _loggers.get(service)
    if found is not None and found.log_level == _level_number(level):
        return found
    with _lock:
        found = _loggers.get(service)
        if found is None:
            from aws_lambda_powertools.logging import Logger

            found = Logger(service=service, level=level, stream=_Stdout(),  # type: ignore[arg-type]
                           **_options())
            found.registered_handler.addFilter(_add_keys)
            _loggers[service] = found
        elif found.log_level != _level_number(level):
            found.setLevel(level)
        return found


#: The first characters of what json.loads accepts: blanks, then a JSON value, NaN or Infinity.
_JSON_START = frozenset('{["-0123456789tfnNI \t\r\n')


def _message_json(message: str) -> Any:
    # Powertools turns a message that is JSON into the value it encodes and leaves other text as it
    # is, by trying json.loads on every message; text that cannot be JSON skips the failed attempt.
    return json.loads(message) if message[:1] in _JSON_START else message


#: Powertools' order of keys, then the invocation's keys (which the filter adds), then the line's own.
_ORDER = ["level", "location", "message", "timestamp", "service", "function", "request_id", "trigger",
          "cold_start"]


def _options() -> dict[str, Any]:
    """Powertools' options: its own key order and JSON handling, with less work per line."""
    options: dict[str, Any] = {"json_deserializer": _message_json, "log_record_order": _ORDER}
    if not os.environ.get("POWERTOOLS_DEV"):  # otherwise Powertools indents, and warns so
        # What Powertools calls each line, json.dumps with these options, without an encoder per call.
        options["json_serializer"] = json.JSONEncoder(
            default=str, separators=(",", ":"), ensure_ascii=False
        ).encode
    return options


#: The record attributes Powertools fills keys in from (its RESERVED_LOG_ATTRS).
_RESERVED = frozenset({
    "name", "msg", "args", "level", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
    "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated", "thread",
    "threadName", "processName", "process", "asctime", "location", "timestamp",
})

_NUMBERS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


def _level_number(level: str) -> int:
    return _NUMBERS.get(level.upper(), 20)


def _level(invocation: Invocation | None) -> str:
    return invocation[0].settings.log_level if invocation else os.environ.get("FLOWFN_LOG_LEVEL", "INFO")


#: The templates of Powertools' default keys, and how the fast path fills each in.
_TEMPLATES = {"%(levelname)s": "level", "%(funcName)s:%(lineno)d": "location", "%(asctime)s": "timestamp"}


def _fast_handler(found: Any) -> Any:
    """The handler to write ``found``'s ERROR lines to directly, or None when a line must go the
    long way round: the logger writes above ERROR only, buffers, has other handlers or filters,
    an ancestor has a handler that would take the line too (pytest's capture, say), or its
    formatter was replaced or told other options."""
    core = found._logger
    handlers = core.handlers
    if len(handlers) != 1:
        return None
    handler = handlers[0]
    formatter = handler.formatter
    if (not core.isEnabledFor(40) or core.filters or handler is not found.registered_handler
            or handler.filters != [_add_keys] or handler.level > 40 or found._buffer_config
            or type(formatter).__name__ != "LambdaPowertoolsFormatter" or formatter.datefmt is not None
            or formatter.use_rfc3339_iso8601 or formatter.json_deserializer is not _message_json
            or type(handler.stream) is not _Stdout):
        return None
    name = core.name
    parent = core.parent if core.propagate else None
    while parent is not None:
        for other in parent.handlers:  # each must drop the line, as Powertools' own filter makes
            # the handlers the root logger had when the Logger was made (Lambda's among them) do
            first: Any = other.filters[0] if other.filters else None
            if other.level <= 40 and not (type(first).__name__ == "SuppressFilter"
                                          and isinstance(getattr(first, "logger", None), str)
                                          and first.logger in name):
                return None
        parent = parent.parent if parent.propagate else None
    return handler


def error(message: str, fields: dict[str, Any], caller: Any) -> None:
    """Write ``message`` with ``fields`` at ERROR, as ``current().error(message, **fields)`` would.

    The same JSON line, byte for byte, for a logger as flowfn sets it up (whatever keys were
    appended to it), without the trip through ``logging`` and Powertools' formatter, which costs
    several times as much. ``caller`` is the frame the line's location names. Anything else, a
    handler or filter added, another formatter, goes through Powertools as before.
    """
    found = current()
    handler = _fast_handler(found)
    if handler is None:
        found.error(message, stacklevel=3, **fields)
        return
    formatter = handler.formatter
    values = {"level": "ERROR", "location": f"{caller.f_code.co_name}:{caller.f_lineno}",
              "timestamp": _timestamp(formatter)}
    line: dict[str, Any] = {}
    for given in (formatter.log_format, _powertools_context()):
        for key, value in given.items():
            if value and key in _RESERVED:
                if value not in _TEMPLATES:  # a template of the user's: Powertools fills it in
                    found.error(message, stacklevel=3, **fields)
                    return
                line[key] = values[_TEMPLATES[value]]
            else:
                line[key] = value
    extra = dict(fields)
    invocation = invocation_var.get()
    if invocation is not None:  # what the filter adds (the line's own keys win)
        for key, value in keys(invocation).items():
            extra.setdefault(key, value)
    line.update(extra)
    line["message"] = _message_json(message)
    for key in ("exception", "exception_name", "exception_notes"):
        line[key] = line.get(key)
    if formatter.serialize_stacktrace:
        line["stack_trace"] = None  # Powertools' stack trace is of exc_info, which this line has none of
    line["xray_trace_id"] = formatter._get_latest_trace_id()
    with handler.lock:
        try:
            text = formatter.serialize({k: v for k, v in line.items() if v is not None})
            handler.stream.write(text + handler.terminator)
            handler.stream.flush()
        except Exception:  # as logging does: a line that cannot be written is reported, not raised
            import logging

            handler.handleError(logging.makeLogRecord({"msg": message, "levelno": 40, "levelname": "ERROR"}))


#: The last second a timestamp was written for: (formatter, its time format, the second, the
#: text before the milliseconds, the text after them), replaced whole.
_second: list[tuple[Any, str, int, str, str]] = [(None, "", -1, "", "")]


def _timestamp(formatter: Any) -> str:
    """The time now, as Powertools' formatter writes it by default (``2026-11-22 03:00:00,123+0000``):
    the text around the milliseconds is worked out once a second."""
    now = time.time()
    whole = int(now)
    fmt = formatter.default_time_format
    cached = _second[0]
    if cached[0] is not formatter or cached[1] != fmt or cached[2] != whole:
        directive = formatter.custom_ms_time_directive
        if fmt.count(directive) != 1:
            return time.strftime(fmt.replace(directive, f"{int((now - whole) * 1000):03d}"),
                                 formatter.converter(now))
        before, after = fmt.split(directive)
        stamp = formatter.converter(now)
        cached = (formatter, fmt, whole, time.strftime(before, stamp), time.strftime(after, stamp))
        _second[0] = cached
    return f"{cached[3]}{int((now - whole) * 1000):03d}{cached[4]}"


_context: list[Any] = []


def _powertools_context() -> dict[str, Any]:
    # The keys Powertools' thread-safe appends gave this context (its formatter adds them too).
    if not _context:
        from aws_lambda_powertools.logging.formatter import _get_context

        _context.append(_get_context())
    return _context[0].get()  # type: ignore[no-any-return]


def current() -> Any:
    """The Powertools Logger of the running invocation (or of flowfn, outside one)."""
    invocation = invocation_var.get()
    if invocation is None:
        return _powertools(_DEFAULT_SERVICE, _level(None))
    return _powertools(invocation[0].settings.name, _level(invocation))


def enabled(level: int) -> bool:
    """Whether a line at ``level`` would be written (answered without importing Powertools)."""
    return level >= _level_number(_level(invocation_var.get()))


class FunctionLogger:
    """The running function's structured logger: every Powertools Logger method works on it.

    ``logger.info(msg, **keys)``, ``logger.exception(msg)``, ``logger.append_keys(...)`` ...
    A line below the function's ``log_level`` costs nothing: Powertools is not even imported.
    """

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        return getattr(current(), name)

    def _log(self, level: int, method: str, msg: object, args: tuple[object, ...],
             kwargs: dict[str, Any]) -> None:
        if enabled(level):
            kwargs.setdefault("stacklevel", 4)  # report the caller's line, not this wrapper's
            getattr(current(), method)(msg, *args, **kwargs)

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at DEBUG; keyword arguments become keys of the JSON line."""
        self._log(10, "debug", msg, args, kwargs)

    def info(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at INFO; keyword arguments become keys of the JSON line."""
        self._log(20, "info", msg, args, kwargs)

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at WARNING; keyword arguments become keys of the JSON line."""
        self._log(30, "warning", msg, args, kwargs)

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at ERROR; keyword arguments become keys of the JSON line."""
        self._log(40, "error", msg, args, kwargs)

    def exception(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at ERROR with the exception being handled and its traceback."""
        self._log(40, "exception", msg, args, kwargs)

    def critical(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at CRITICAL; keyword arguments become keys of the JSON line."""
        self._log(50, "critical", msg, args, kwargs)

    def __repr__(self) -> str:
        invocation = invocation_var.get()
        return f"<flowfn logger of {invocation[0].settings.name if invocation else _DEFAULT_SERVICE}>"


#: The running function's logger; import it with ``from flowfn.runtime import logger``.
logger = FunctionLogger()
