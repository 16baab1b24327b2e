"""Which invocation is running, for its log lines: one context variable, set for each invocation.

``dispatch`` sets :data:`invocation_var` to the invocation, ``(handler, context, cold)``, before
the handler runs, and resets it when the handler returns or raises; :func:`running` reads it. An
invocation inside another (a handler that calls ``dispatch``) gives the outer one back when it
ends. Being a context variable, it follows an ``async def`` handler into its event loop and the
work that hands to threads with the context (``asyncio.to_thread``); a thread started by hand
(``threading.Thread``) starts outside any invocation. This module is small and imports nothing:
it is on every cold start, the logger is not.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flowfn.function import Handler

__all__ = ["Invocation", "invocation_var", "running", "warm"]

#: The invocation log lines belong to: (handler, Lambda context, whether it is a cold start).
Invocation = tuple["Handler", object, bool]

#: The running invocation, None outside one. ``dispatch`` sets it for each invocation; whatever
#: logs for an invocation outside it (after it ended, say) sets it around those lines.
invocation_var: ContextVar[Invocation | None] = ContextVar("flowfn_invocation", default=None)
#: Functions invoked before in this process: their next invocation is not a cold start.
warm: set[str] = set()

_get = invocation_var.get


def running() -> Invocation | None:
    """The invocation running here (in this thread, or this task of an ``async def`` handler), or None."""
    return _get()
