"""Calling a handler: the positional arguments it takes, and ``async def`` handlers run to completion.

Each trigger kind's adapter prepares, once per handler, the :data:`Runner` that handles each of its
events; :func:`caller` is the part every kind shares, the call of the user's function.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flowfn.errors import EventError
from flowfn.function import Handler

__all__ = ["SETTLED", "Prepare", "Runner", "call", "caller", "each_event", "not_an_event", "settle"]

#: What handles one event of a handler: ``run(event, context)``, the event a dict.
Runner = Callable[[dict[str, Any], object], Any]
#: A kind's adapter: works out once per handler what each of its events runs.
Prepare = Callable[[Handler], Runner]

#: Types of results that are plainly not awaitable, so need no closer look; types found not to be
#: awaitable join them (a handler returns few types), so the check is one set lookup.
SETTLED: set[type] = {type(None), str, bytes, int, float, bool, dict, list, tuple}


def settle(result: Any) -> Any:
    """``result``, or what it awaits to when a handler returned a coroutine (an ``async def``)."""
    kind = type(result)
    if kind in SETTLED:
        return result
    if hasattr(result, "__await__") and hasattr(result, "send"):
        # An ``async def`` handler: run it to completion, as Lambda has no event loop of its own.
        # Its task runs in a copy of this context, so it and the work it hands to threads with the
        # context (``asyncio.to_thread``) log with the invocation's keys.
        import asyncio

        return asyncio.run(result)
    if len(SETTLED) < 64 and not hasattr(kind, "__await__"):
        SETTLED.add(kind)
    return result


def caller(handler: Handler) -> Callable[[Any, object], Any]:
    """``handler``'s function as ``fn(first, context)``, however many of them it takes.

    What it returns is the function's result, still to be settled: a runner returns ``result if
    type(result) in SETTLED else settle(result)``.
    """
    fn, arity = handler.fn, handler.arity
    if arity == 2:
        return fn
    if arity == 1:
        return lambda first, context: fn(first)
    return lambda first, context: fn(*(first, context)[:arity])


def not_an_event(kind: str, event: object) -> None:
    """Raise EventError unless ``event`` is a mapping (a dict, as Lambda delivers, or another one)."""
    if not isinstance(event, Mapping):
        raise EventError(kind, "", f"must be an object (a dict), got {type(event).__name__}")


def each_event(adapter: Callable[[Handler, Mapping[str, Any], object], Any], handler: Handler) -> Runner:
    """The runner of a kind whose ``adapter(handler, event, context)`` does all its work per event."""
    kind = handler.trigger.kind

    def run(event: Mapping[str, Any], context: object) -> Any:
        if type(event) is not dict:
            not_an_event(kind, event)
        return adapter(handler, event, context)
    return run


def call(handler: Handler, first: Any, context: object) -> Any:
    """Call ``handler`` with as many of (``first``, ``context``) as it takes; await what it returns."""
    fn, arity = handler.fn, handler.arity
    if arity == 2:
        result = fn(first, context)
    elif arity == 1:
        result = fn(first)
    else:
        result = fn(*(first, context)[:arity])
    return result if type(result) in SETTLED else settle(result)
