"""Structured JSON logs through Powertools' Logger, keyed by function, request id and trigger.

``logger`` stands in for the running function's Powertools ``Logger``: ``logger.info("resized",
width=640)`` writes one JSON line carrying ``function``, ``request_id``, ``trigger`` and
``cold_start``, at the function's own ``log_level``. Powertools is imported on the first log call,
not on import: it pulls in botocore and costs tens of milliseconds, which a function that never logs
should not pay on its cold start.

``dispatch`` makes each invocation the running one (a context variable, set when its handler starts
and reset when it ends; Lambda's entry point writes a slot of the process instead, see
``flowfn.runtime.invocation``); the keys of a line are worked out only when a line is written, by a filter
on the function's Powertools handler, from the running invocation. An ``async def`` handler's lines,
and those of work it hands to threads with the context (``asyncio.to_thread``), carry them too.
"""

from __future__ import annotations

import _thread
import json
import os
import sys
from typing import Any

from flowfn.runtime.invocation import Invocation, invocation_var, lambda_invocation, running, warm

__all__ = ["FunctionLogger", "Invocation", "current", "enabled", "invocation_var", "keys", "logger",
           "logger_of", "running", "warm"]

_DEFAULT_SERVICE = "flowfn"

def keys(invocation: Invocation) -> dict[str, Any]:
    """The keys every line of ``invocation`` carries."""
    handler, context, cold = invocation
    return {"function": handler.settings.name,
            "request_id": str(getattr(context, "aws_request_id", "") or ""),
            "trigger": handler.trigger.kind, "cold_start": cold}


def _add_keys(record: Any) -> bool:
    # A filter on each flowfn Powertools handler: the running invocation's keys join the line
    # (keys the line was given itself win).
    invocation = running()
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


_var_get, _lambda = invocation_var.get, lambda_invocation
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
        options["json_serializer"] = _compact_json
    return options


#: What Powertools calls each line, json.dumps with its options, without an encoder per call.
_compact_json = json.JSONEncoder(default=str, separators=(",", ":"), ensure_ascii=False).encode


_NUMBERS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


def _level_number(level: str) -> int:
    return _NUMBERS.get(level) or _NUMBERS.get(level.upper(), 20)


def _level(invocation: Invocation | None) -> str:
    return invocation[0].settings.log_level if invocation else os.environ.get("FLOWFN_LOG_LEVEL", "INFO")


def current() -> Any:
    """The Powertools Logger of the running invocation (or of flowfn, outside one)."""
    return logger_of(running())


def logger_of(invocation: Invocation | None) -> Any:
    """The Powertools Logger of ``invocation`` (or of flowfn, for None)."""
    if invocation is None:
        return _powertools(_DEFAULT_SERVICE, _level(None))
    return _powertools(invocation[0].settings.name, _level(invocation))


def enabled(level: int) -> bool:
    """Whether a line at ``level`` would be written: the running invocation's level decides.

    Answered without importing Powertools, so a ``logger.debug`` below the level costs next to nothing.
    """
    return level >= _level_number(_level(running()))


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
        invocation = _var_get() or _lambda[0]  # running() and its level as _level has it, written out
        if level < _level_number(invocation[0].settings.log_level if invocation is not None
                                 else os.environ.get("FLOWFN_LOG_LEVEL", "INFO")):
            return
        kwargs.setdefault("stacklevel", 4)  # report the caller's line, not this wrapper's
        getattr(logger_of(invocation), method)(msg, *args, **kwargs)

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
        invocation = running()
        return f"<flowfn logger of {invocation[0].settings.name if invocation else _DEFAULT_SERVICE}>"


#: The running function's logger; import it with ``from flowfn.runtime import logger``.
logger = FunctionLogger()
