"""Calling a handler: the positional arguments it takes, and ``async def`` handlers run to completion."""

from __future__ import annotations

from typing import Any

from flowfn.function import Handler

__all__ = ["call"]

#: Results that are plainly not awaitable, so need no closer look.
_PLAIN = frozenset({type(None), str, bytes, int, float, bool, dict, list, tuple})


def call(handler: Handler, first: Any, context: object) -> Any:
    """Call ``handler`` with as many of (``first``, ``context``) as it takes; await what it returns."""
    fn, arity = handler.fn, handler.arity
    if arity == 2:
        result = fn(first, context)
    elif arity == 1:
        result = fn(first)
    else:
        result = fn(*(first, context)[:arity])
    if type(result) in _PLAIN:
        return result
    if hasattr(result, "__await__") and hasattr(result, "send"):
        # An ``async def`` handler: run it to completion, as Lambda has no event loop of its own.
        import asyncio

        return asyncio.run(result)
    return result
