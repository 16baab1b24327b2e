"""Which invocation is running, for its log lines.

Two places say it. ``dispatch`` (run-local, flowfn.testing, an invocation within another) sets
the context variable :data:`invocation_var` to the invocation, ``(handler, context, cold)``,
before the handler runs and resets it when the handler returns or raises; an invocation inside
another gives the outer one back when it ends. Being a context variable, it follows an
``async def`` handler into its event loop and the work that hands to threads with the context
(``asyncio.to_thread``), and many invocations can run at once, each in its own thread.

Lambda's entry point (``flowfn.runtime.handler``) writes :data:`lambda_invocation` instead, one
slot for the whole process: Lambda runs one invocation at a time in a process, so everything the
process logs belongs to it, from any thread, until the next begins (as Lambda's runtime keeps its
request id). Writing the slot costs a fifth of setting the variable, on every event.

:func:`running` reads the variable, then the slot. This module is small and imports nothing: it
is on every cold start, the logger is not.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowfn.function import Handler

__all__ = ["Invocation", "cold_start", "invocation_var", "lambda_invocation", "running", "warm"]

#: The invocation log lines belong to: (handler, Lambda context, whether it is a cold start).
Invocation = tuple["Handler", object, bool]

#: The running invocation, None outside one. ``dispatch`` sets it for each invocation; whatever
#: logs for an invocation outside it (after it ended, say) sets it around those lines.
invocation_var: ContextVar[Invocation | None] = ContextVar("flowfn_invocation", default=None)
#: ``[the invocation Lambda's entry point runs, or ran last]``; [None] before its first.
lambda_invocation: list[Invocation | None] = [None]
#: Functions invoked before in this process: their next invocation is not a cold start.
warm: set[str] = set()

_get = invocation_var.get


def running() -> Invocation | None:
    """The invocation running here (in this thread, or this task of an ``async def`` handler), or None."""
    return _get() or lambda_invocation[0]


def cold_start(name: str) -> bool:
    """Whether this, the first invocation of function ``name`` here, is the process's first of it
    (a cold start); it is warm from now on."""
    cold = name not in warm
    warm.add(name)
    return cold
