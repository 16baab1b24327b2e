"""ERROR lines for failed SQS messages, written without the trip through ``logging``.

Each failed message of a batch gets one structured line (its id, the reason, the traceback).
Through ``logging`` and Powertools' formatter a line costs several times what the rest of the
batch does; :func:`error` writes the same line, byte for byte, straight to the function's
Powertools handler whenever the logger is as flowfn set it up (keys appended to it or not), and
hands the line to Powertools otherwise. Imported on the first failure: a function that never
fails a message does not compile it on its cold start.
"""

from __future__ import annotations

import time
from typing import Any

from flowfn.runtime.log import _add_keys, _message_json, _Stdout, keys, logger_of, running
from flowfn.runtime.stack import exception_keys

__all__ = ["error", "exception_keys"]

#: The record attributes Powertools fills keys in from (its RESERVED_LOG_ATTRS).
_RESERVED = frozenset({
    "name", "msg", "args", "level", "levelname", "levelno", "pathname", "filename", "module", "exc_info",
    "exc_text", "stack_info", "lineno", "funcName", "created", "msecs", "relativeCreated", "thread",
    "threadName", "processName", "process", "asctime", "location", "timestamp",
})

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
    invocation = running()
    found = logger_of(invocation)
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
