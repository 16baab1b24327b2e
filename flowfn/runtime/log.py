"""Structured JSON logs through Powertools' Logger, keyed by function, request id and trigger.

``logger`` stands in for the running function's Powertools ``Logger``: ``logger.info("resized",
width=640)`` writes one JSON line carrying ``function``, ``request_id``, ``trigger`` and
``cold_start``, at the function's own ``log_level``. Powertools is imported on the first log call,
not on import: it pulls in botocore and costs tens of milliseconds, which a function that never logs
should not pay on its cold start.
"""

from __future__ import annotations

import _thread
import os
import sys
from contextvars import ContextVar, Token
from typing import Any

__all__ = ["FunctionLogger", "Invocation", "begin", "current", "enabled", "end", "logger"]

_DEFAULT_SERVICE = "flowfn"


class Invocation:
    """What every log line of one invocation carries."""

    __slots__ = ("cold_start", "function", "keyed", "level", "request_id", "trigger")

    def __init__(self, function: str, trigger: str, request_id: str, level: str,
                 cold_start: bool) -> None:
        self.function = function
        self.trigger = trigger
        self.request_id = request_id
        self.level = level
        self.cold_start = cold_start
        self.keyed = False

    def keys(self) -> dict[str, Any]:
        return {"function": self.function, "request_id": self.request_id, "trigger": self.trigger,
                "cold_start": self.cold_start}


class _Stdout:
    """Writes to whatever ``sys.stdout`` is at the time (tests and run-local swap it)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


_invocation: ContextVar[Invocation | None] = ContextVar("flowfn_invocation", default=None)
_loggers: dict[str, Any] = {}
_lock = _thread.allocate_lock()  # the threading module costs a millisecond to import


def _powertools(service: str, level: str) -> Any:
    with _lock:
        found = _loggers.get(service)
        if found is None:
            from aws_lambda_powertools.logging import Logger

            found = Logger(service=service, level=level, stream=_Stdout())  # type: ignore[arg-type]
            _loggers[service] = found
        elif found.log_level != _level_number(level):
            found.setLevel(level)
        return found


def _level_number(level: str) -> int:
    return _NUMBERS.get(level.upper(), 20)


def begin(invocation: Invocation) -> Token[Invocation | None]:
    """Make ``invocation`` the one log lines belong to, in this thread."""
    return _invocation.set(invocation)


def end(token: Token[Invocation | None]) -> None:
    """Close the invocation :func:`begin` opened; its keys leave the logger."""
    invocation = _invocation.get()
    if invocation is not None and invocation.keyed:
        _loggers[invocation.function].thread_safe_remove_keys(list(invocation.keys()))
    _invocation.reset(token)


def current() -> Any:
    """The Powertools Logger of the running invocation (or of flowfn, outside one)."""
    invocation = _invocation.get()
    if invocation is None:
        return _powertools(_DEFAULT_SERVICE, os.environ.get("FLOWFN_LOG_LEVEL", "INFO"))
    found = _powertools(invocation.function, invocation.level)
    if not invocation.keyed:
        found.thread_safe_append_keys(**invocation.keys())
        invocation.keyed = True
    return found


_NUMBERS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}


def enabled(level: int) -> bool:
    """Whether a line at ``level`` would be written (answered without importing Powertools)."""
    invocation = _invocation.get()
    name = invocation.level if invocation else os.environ.get("FLOWFN_LOG_LEVEL", "INFO")
    return level >= _NUMBERS.get(name.upper(), 20)


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
        invocation = _invocation.get()
        return f"<flowfn logger of {invocation.function if invocation else _DEFAULT_SERVICE}>"


#: The running function's logger; import it with ``from flowfn.runtime import logger``.
logger = FunctionLogger()
