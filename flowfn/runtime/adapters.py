"""One invocation, exactly as Lambda runs it: adapt the event, call the handler, shape the result.

Each trigger kind has one adapter in a typed table; the function's trigger, never the event's
shape, chooses it. An adapter prepares, on a handler's first event, the runner that handles each
of its events, so an event pays for nothing that is the same for every event of the handler. A
kind's module is imported with its adapter, when a function of that kind first needs it: a cold
start loads the runtime of its own kind only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib import import_module
from typing import Any

from flowfn.function import Handler
from flowfn.runtime import invocation
from flowfn.runtime.invoke import Prepare, Runner

__all__ = ["ADAPTERS", "dispatch", "runner"]


class _Adapters(Mapping[str, Prepare]):
    """Kind name -> adapter; each kind's runtime module is imported when its adapter is first read."""

    def __init__(self, where: dict[str, tuple[str, str]]) -> None:
        self._where = where
        self._loaded: dict[str, Prepare] = {}

    def __getitem__(self, kind: str) -> Prepare:
        found = self._loaded.get(kind)
        if found is None:
            module, name = self._where[kind]
            found = self._loaded[kind] = getattr(import_module(module), name)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self._where)

    def __len__(self) -> int:
        return len(self._where)


#: How each trigger kind runs, by its ``kind`` name (the runtime imports no spec classes for
#: this): the module and the name of its adapter. A new kind adds one entry.
ADAPTERS: Mapping[str, Prepare] = _Adapters({
    "s3": ("flowfn.runtime.s3", "prepare_s3"),
    "sqs": ("flowfn.runtime.sqs", "prepare_sqs"),
    "schedule": ("flowfn.runtime.schedule", "prepare_schedule"),
    "http": ("flowfn.runtime.http", "prepare_http"),
    "kinesis": ("flowfn.runtime.kinesis", "prepare_kinesis"),
    "dynamodb": ("flowfn.runtime.dynamodb", "prepare_dynamodb"),
    "sns": ("flowfn.runtime.sns", "prepare_sns"),
    "eventbridge": ("flowfn.runtime.eventbridge", "prepare_eventbridge"),
})

_cold_start = invocation.cold_start
_set, _reset = invocation.invocation_var.set, invocation.invocation_var.reset


def dispatch(handler: Handler, event: dict[str, Any], context: object) -> Any:
    """Run one invocation of ``handler`` as Lambda would, and return what Lambda returns.

    SQS: ``{"batchItemFailures": [...]}``. HTTP: an HTTP API payload 2.0 response (handler errors
    become 4xx/5xx responses). S3 and schedule: the handler's return value (a list, one per
    record, for an S3 event of several records); their exceptions propagate, failing the
    invocation so Lambda retries it.

    Log lines written meanwhile carry this invocation's function, request id (``context``'s),
    trigger and cold start: it is the running invocation until the handler returns or raises.
    """
    try:
        run: Runner | None = handler._runner  # type: ignore[attr-defined]
    except AttributeError:
        run = None
    if run is None:  # outside the except: the handler's own errors must not chain to it
        return _first(handler, event, context)
    token = _set((handler, context, False))
    try:
        return run(event, context)  # the runner checks that the event is a mapping
    finally:
        _reset(token)


def runner(handler: Handler) -> Runner:
    """What runs each event of ``handler``: prepared by its kind's adapter when first asked for,
    and kept on the handler (a cache, not a field: its equality, hash and replace() never see it)."""
    run: Runner | None = handler.__dict__.get("_runner")
    if run is None:
        kind = handler.trigger.kind
        if kind not in ADAPTERS:
            raise TypeError(
                f"handler {handler.name!r}: flowfn's runtime cannot run a {type(handler.trigger).__name__}; "
                f"it runs the kinds {', '.join(ADAPTERS)}"
            )
        run = handler.__dict__["_runner"] = ADAPTERS[kind](handler)
    return run


def _first(handler: Handler, event: dict[str, Any], context: object) -> Any:
    # A handler's first event: its runner is prepared, and a function's first is a cold start.
    run = runner(handler)
    token = _set((handler, context, _cold_start(handler.settings.name)))
    try:
        return run(event, context)
    finally:
        _reset(token)
