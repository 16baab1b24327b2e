"""ERROR lines for failed SQS messages, written without the trip through ``logging``.

Each failed message of a batch gets one structured line (its id, the reason, the traceback).
Through ``logging`` and Powertools' formatter a line costs several times what the rest of the
batch does; :func:`error` writes the same line, byte for byte, straight to the function's
Powertools handler whenever the logger is as flowfn set it up (keys appended to it or not), and
hands the line to Powertools otherwise. For a logger whose keys are flowfn's own (and text
appended to it) the line's text is laid out once, and each line joins it with its own values, its
traceback's JSON made of each frame's, kept with the frame (:mod:`flowfn.runtime.stack`); else
the line is put together key by key, as Powertools' formatter does. Imported on the first
failure: a function that never fails a message does not compile it on its cold start.
"""

from __future__ import annotations

import os
import sys
import time
from json.encoder import encode_basestring as _string
from typing import Any

from flowfn.runtime.invocation import Invocation, running
from flowfn.runtime.log import (
    _JSON_START,
    _NUMBERS,
    _add_keys,
    _compact_json,
    _loggers,
    _message_json,
    _Stdout,
    keys,
    logger_of,
)
from flowfn.runtime.stack import exception_keys, exception_text, format_exception

__all__ = ["error", "exception_keys", "exception_text"]

_running = running

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
    if (not core.isEnabledFor(40) or core.filters
            or handler is not (getattr(found, "logger_handler", None) or found.registered_handler)
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


def error(message: str, fields: dict[str, Any], caller: Any, exc: BaseException | None = None) -> None:
    """Write ``message`` with ``fields`` at ERROR, as ``current().error(message, **fields)`` would.

    The same JSON line, byte for byte, for a logger as flowfn sets it up (whatever keys were
    appended to it), without the trip through ``logging`` and Powertools' formatter, which costs
    several times as much. ``caller`` is the frame the line's location names. With ``exc``, the
    line carries its traceback too: ``fields`` followed by ``exception_keys(exc)``. Anything else,
    a handler or filter added, another formatter, goes through Powertools as before.
    """
    invocation = _running()
    found = None
    if invocation is not None:  # logger_of(invocation), for a logger made already at its level
        settings = invocation[0].settings
        found = _loggers.get(settings.name)
        if found is not None and found._logger.level != _NUMBERS.get(settings.log_level):
            found = None
    if found is None:
        found = logger_of(invocation)
    handler = _fast_handler(found)
    if handler is None:
        found.error(message, stacklevel=3, **_with_exception(fields, exc))
        return
    formatter = handler.formatter
    location = f"{caller.f_code.co_name}:{caller.f_lineno}"
    try:
        text = _laid_out(formatter, message, fields, exc, invocation, location)
    except Exception:  # a value it cannot write: the line put together key by key reports it
        text = None
    try:
        if text is None:
            fields = _with_exception(fields, exc)
            line = _line(formatter, message, fields, invocation, location)
            if line is None:  # a template of the user's: Powertools fills it in
                found.error(message, stacklevel=3, **fields)
                return
            if formatter.json_serializer is _compact_json:
                text = "{" + _members(line.items())[1:] + "}"
            else:
                text = formatter.serialize({k: v for k, v in line.items() if v is not None})
    except Exception:  # as logging does: a line that cannot be written is reported, not raised
        _unwritten(handler, message)
        return
    with handler.lock:
        try:
            stream = sys.stdout  # where the handler's stream (a _Stdout) writes
            stream.write(text + handler.terminator)
            stream.flush()
        except Exception:
            _unwritten(handler, message)


def _with_exception(fields: dict[str, Any], exc: BaseException | None) -> dict[str, Any]:
    return fields if exc is None else {**fields, **exception_keys(exc)}


def _unwritten(handler: Any, message: str) -> None:
    import logging

    handler.handleError(logging.makeLogRecord({"msg": message, "levelno": 40, "levelname": "ERROR"}))


def _line(formatter: Any, message: str, fields: dict[str, Any], invocation: Invocation | None,
          location: str) -> dict[str, Any] | None:
    # The line's keys and values as Powertools' formatter puts them together (None values are left
    # out when written); None when a key of the line is a template of the user's.
    values = {"level": "ERROR", "location": location, "timestamp": _timestamp(formatter)}
    line: dict[str, Any] = {}
    for given in (formatter.log_format, _powertools_context()):
        for key, value in given.items():
            if value and key in _RESERVED:
                if value not in _TEMPLATES:
                    return None
                line[key] = values[_TEMPLATES[value]]
            else:
                line[key] = value
    extra = dict(fields)
    if invocation is not None:  # what the filter adds (the line's own keys win)
        for key, value in keys(invocation).items():
            extra.setdefault(key, value)
    line.update(extra)
    line["message"] = _message(message)
    for key in ("exception", "exception_name", "exception_notes"):
        line[key] = line.get(key)
    if formatter.serialize_stacktrace:
        line["stack_trace"] = None  # Powertools' stack trace is of exc_info, which this line has none of
    line["xray_trace_id"] = formatter._get_latest_trace_id()
    return line


def _message(message: str) -> Any:
    # What Powertools writes for the message: the value it encodes when it is JSON, else the text.
    try:
        return _message_json(message)
    except ValueError:  # not JSON after all (json.JSONDecodeError)
        return message


#: The keys a line's own keys cannot share for it to be laid out: their place is not the line's.
_PLACED = frozenset({"message", "stack_trace", "xray_trace_id"})
#: Keys the layout fills in, by the value Powertools' formatter has for them.
_FILLED = {"level": "%(levelname)s", "location": "%(funcName)s:%(lineno)d", "message": None,
           "timestamp": "%(asctime)s"}
#: The invocation's keys, as keys() gives them and as flowfn orders them: the layout keeps them together.
_OWN = ("function", "request_id", "trigger", "cold_start")
_SLOTS = ("level", "location", "message", "timestamp", "function")


class _Layout:
    """A formatter's lines laid out once, while its keys stay as they are: the text of every key but
    the location, message, time, invocation's and the line's own, around a slot for each of those.

    ``head`` is None unless every key of the formatter is flowfn's own or text appended to it; else
    the text before the location's value, between it and the message (with its key), the time's
    value, the invocation's keys and the line's own keys.
    """

    __slots__ = ("by_names", "formatter", "head", "keys", "order", "taken")

    def __init__(self, formatter: Any, keys: dict[str, Any]) -> None:
        self.formatter = formatter
        self.keys = dict(keys)
        self.order = list(keys)
        self.taken = frozenset(keys) | _PLACED  # what a line's own keys must keep out of
        self.head = _head(list(keys.items()))
        self.by_names: dict[tuple[Any, ...], tuple[str, ...]] = {}

    def names(self, names: tuple[Any, ...]) -> tuple[str, ...]:
        """Each of ``names`` (the line's own keys) as JSON, after a comma and before a colon."""
        found = self.by_names.get(names)
        if found is None:
            found = tuple(f",{_compact_json({name: 0})[1:-2]}" for name in names)
            if len(self.by_names) < 64:
                self.by_names[names] = found
        return found


def _head(items: list[tuple[str, Any]]) -> tuple[str, ...] | None:
    segments: list[str] = []
    text: list[str] = []
    slots: list[str] = []
    position = 0
    while position < len(items):
        key, value = items[position]
        position += 1
        if type(key) is not str or not (value is None or type(value) is str):
            return None
        if key in _FILLED:
            if value != _FILLED[key]:
                return None
            slots.append(key)
            if key == "level":
                text.append(',"level":"ERROR"')
                continue
            if key != "message":  # (the message's slot is filled in with its key, or nothing)
                text.append(f",{_string(key)}:")
            segments.append("".join(text))  # a slot: the text so far is one segment
            text = []
        elif key == _OWN[0]:  # the invocation's keys, filled in together
            if items[position - 1:position + 3] != [(own, None) for own in _OWN]:
                return None
            slots.append(key)
            segments.append("".join(text))
            text = []
            position += 3
        elif key in _RESERVED or key in _OWN or key in _EXCEPTION or key in _PLACED:
            return None  # filled in by Powertools, by the line's own keys or by the line
        elif value is not None:
            text.append(f",{_string(key)}:{_string(value)}")
    if tuple(slots) != _SLOTS:
        return None
    segments.append("".join(text))
    return ("{" + segments[0][1:], *segments[1:])


#: Formatter id -> its layout.
_layouts: dict[int, _Layout] = {}


def _laid_out(formatter: Any, message: str, fields: dict[str, Any], exc: BaseException | None,
              invocation: Invocation | None, location: str) -> str | None:
    """The line as the JSON Powertools writes, for a logger whose keys are flowfn's own (and text
    appended to it), from its layout. None otherwise: the line is put together key by key."""
    if formatter.json_serializer is not _compact_json or (
            _context[0].get() if _context else _powertools_context()):
        return None
    keys_now = formatter.log_format
    layout = _layouts.get(id(formatter))
    if (layout is None or layout.formatter is not formatter or keys_now != layout.keys
            or list(keys_now) != layout.order):
        layout = _layouts[id(formatter)] = _Layout(formatter, keys_now)
    if layout.head is None or not layout.taken.isdisjoint(fields):
        return None
    values = [_string(value) if type(value) is str else str(value) if type(value) is int else _value(value)
              for value in fields.values()]
    if None in values:  # a key left out
        return None
    names = tuple(fields)
    if exc is not None:  # exception_keys(exc), written as JSON from its frames' JSON
        if not _EXCEPTION.isdisjoint(fields):
            return None
        values += (format_exception(exc, json=True), _string(type(exc).__name__))
        notes = getattr(exc, "__notes__", None)
        if notes:
            values.append(_value(notes))
            names += _EXCEPTION_KEYS
        else:
            names += _EXCEPTION_KEYS[:2]
    text = message if message[:1] not in _JSON_START else _message(message)
    if text is not None:
        text = ',"message":' + (_string(text) if type(text) is str else _compact_json(text))
    if invocation is None:
        own = ""
    else:  # keys(invocation), written out
        handler, context, cold = invocation
        name, kind = handler.settings.name, handler.trigger.kind
        request = str(getattr(context, "aws_request_id", "") or "")
        if type(name) is str and type(kind) is str and type(cold) is bool:
            own = (f',"function":{_string(name)},"request_id":{_string(request)},"trigger":{_string(kind)},'
                   f'"cold_start":{"true" if cold else "false"}')
        else:
            own = _members(keys(invocation).items())
    environ = os.environ
    if environ is _ENVIRON:  # os.environ.get(_TRACE_ENV), as Powertools reads it for each line
        trace = _ENVIRON_DATA.get(_TRACE_KEY)
        if trace is not None:
            trace = _ENVIRON.decodevalue(trace)
    else:
        trace = environ.get(_TRACE_ENV)
    now = time.time()  # _timestamp(formatter, 2), written out for the second it knows
    whole = int(now)
    second = _second[0]
    if (second[0] is formatter and second[2] == whole and second[1] == formatter.default_time_format
            and now >= 0):
        stamp = f"{second[5]}{_MILLIS[int((now - whole) * 1000)]}{second[6]}"
    else:
        stamp = _timestamp(formatter, 2)
    before_location, before_message, before_time, before_own, before_fields = layout.head
    return "".join([
        before_location, _string(location), before_message, text or "", before_time, stamp, before_own, own,
        before_fields, "".join(map(_joined, layout.by_names.get(names) or layout.names(names), values)),
        ',"xray_trace_id":' + _string(trace.split(";")[0].replace("Root=", "")) if trace else "", "}",
    ])


_joined = str.__add__
_EXCEPTION_KEYS = ("exception", "exception_name", "exception_notes")
_EXCEPTION = frozenset(_EXCEPTION_KEYS)
_TRACE_ENV = "_X_AMZN_TRACE_ID"  # Powertools' constants.XRAY_TRACE_ID_ENV
#: os.environ's own mapping, keyed and valued as the platform encodes them (read directly: looking
#: up a key that is missing through os.environ raises and catches two exceptions).
_ENVIRON_DATA: Any = getattr(os.environ, "_data", None)
_ENVIRON: Any = os.environ if type(_ENVIRON_DATA) is dict else None
_TRACE_KEY = os.environ.encodekey(_TRACE_ENV)
#: Keys already written as JSON, with the comma before them and the colon after.
_names: dict[Any, str] = {}


def _members(items: Any) -> str:
    """``items`` (key, value pairs) as the members of a JSON object, each after a comma, written as
    flowfn's encoder writes them; None values are left out, as Powertools leaves them out."""
    parts = []
    for key, value in items:
        if value is None:
            continue
        name = _names.get(key)
        if name is None:
            name = "," + _compact_json({key: 0})[1:-2]
            if len(_names) < 512:
                _names[key] = name
        parts.append(name)
        parts.append(_string(value) if type(value) is str else _value(value))
    return "".join(parts)


def _value(value: Any) -> Any:
    # A value other than text as flowfn's encoder writes it; None for None (left out of lines).
    if value is None:
        return None
    if value is True:
        return "true"
    if value is False:
        return "false"
    return int.__repr__(value) if type(value) is int else _compact_json(value)


#: The last second a timestamp was written for: (formatter, its time format, the second, the
#: text before the milliseconds and after them, then both as they start and end a JSON string),
#: replaced whole.
_second: list[tuple[Any, str, int, str, str, str, str]] = [(None, "", -1, "", "", "", "")]
#: Milliseconds as the timestamp writes them ("%03d", which costs more than the rest of the time).
_MILLIS = [f"{millis:03d}" for millis in range(1000)]


def _timestamp(formatter: Any, written: int = 0) -> str:
    """The time now, as Powertools' formatter writes it by default (``2026-11-22 03:00:00,123+0000``),
    or with ``written=2`` as JSON (quoted): the text around the milliseconds is worked out once a second."""
    now = time.time()
    whole = int(now)
    fmt = formatter.default_time_format
    cached = _second[0]
    if cached[0] is not formatter or cached[1] != fmt or cached[2] != whole or now < 0:
        directive = formatter.custom_ms_time_directive
        if fmt.count(directive) != 1 or now < 0:
            text = time.strftime(fmt.replace(directive, f"{int((now - whole) * 1000):03d}"),
                                 formatter.converter(now))
            return _string(text) if written else text
        before, after = fmt.split(directive)
        stamp = formatter.converter(now)
        before, after = time.strftime(before, stamp), time.strftime(after, stamp)
        cached = (formatter, fmt, whole, before, after, _string(before)[:-1], _string(after)[1:])
        _second[0] = cached
    return f"{cached[3 + written]}{_MILLIS[int((now - whole) * 1000)]}{cached[4 + written]}"


_context: list[Any] = []


def _powertools_context() -> dict[str, Any]:
    # The keys Powertools' thread-safe appends gave this context (its formatter adds them too).
    if not _context:
        from aws_lambda_powertools.logging.formatter import _get_context

        _context.append(_get_context())
    return _context[0].get()  # type: ignore[no-any-return]
