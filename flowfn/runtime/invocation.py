"""Which invocation a thread is running, for its log lines: read when a line is written, never set per event.

``dispatch`` (and whatever else runs an invocation) is *marked*: a line written under it reads the
invocation from the innermost marked frame on the thread's stack (its locals ``handler``,
``context`` and ``cold``). Work an ``async def`` handler hands to a thread with the context
(``asyncio.to_thread``) reads it from ``invocation_var``, which is set around the handler's event
loop. This module is small and imports nothing: it is on every cold start, the logger is not.
"""

from __future__ import annotations

import sys
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowfn.function import Handler

__all__ = ["Invocation", "invocation_var", "levels", "mark", "running", "warm"]

#: The invocation log lines belong to: (handler, Lambda context, whether it is a cold start).
Invocation = tuple["Handler", object, bool]

#: An invocation outside the stack of a ``dispatch`` (set around an ``async def`` handler's event
#: loop, and by whatever logs for an invocation after it ended); lines written meanwhile carry its keys.
invocation_var: ContextVar[Invocation | None] = ContextVar("flowfn_invocation", default=None)
#: Functions invoked before in this process: their next invocation is not a cold start.
warm: set[str] = set()
#: The log levels of the functions invoked in this process.
levels: set[str] = set()

#: The code of the functions that run an invocation; their locals ``handler`` and ``context`` (and
#: ``cold``, True on a function's first invocation) are the invocation's.
_marks: set[Any] = set()
_getframe = sys._getframe
_var_get = invocation_var.get


def mark(fn: Any) -> Any:
    """Register ``fn`` as running invocations: lines written under it carry its invocation's keys."""
    _marks.add(fn.__code__)
    return fn


def running(frame: Any = None) -> Invocation | None:
    """The invocation this thread runs: the innermost marked frame's, else the context's.

    ``frame`` is where to start looking (the caller's frame when left out).
    """
    if frame is None:
        frame = _getframe(1)
    marks = _marks
    while frame is not None:
        if frame.f_code in marks:
            names = frame.f_locals
            return (names["handler"], names["context"], names.get("cold") is True)
        frame = frame.f_back
    return _var_get()
