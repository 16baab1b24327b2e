"""One invocation, exactly as Lambda runs it: adapt the event, call the handler, shape the result.

Each trigger kind has one adapter in a typed table; the function's trigger, never the event's
shape, chooses it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flowfn.errors import EventError
from flowfn.function import Handler
from flowfn.runtime import log
from flowfn.runtime.dynamodb import run_dynamodb
from flowfn.runtime.eventbridge import run_eventbridge
from flowfn.runtime.http import run_http
from flowfn.runtime.kinesis import run_kinesis
from flowfn.runtime.s3 import run_s3
from flowfn.runtime.schedule import run_schedule
from flowfn.runtime.sns import run_sns
from flowfn.runtime.sqs import run_sqs

__all__ = ["ADAPTERS", "dispatch"]

Adapter = Callable[[Handler, Mapping[str, Any], object], Any]

#: How each trigger kind runs, by its ``kind`` name (the runtime imports no spec classes for
#: this): a new kind adds one entry.
ADAPTERS: dict[str, Adapter] = {
    "s3": run_s3,
    "sqs": run_sqs,
    "schedule": run_schedule,
    "http": run_http,
    "kinesis": run_kinesis,
    "dynamodb": run_dynamodb,
    "sns": run_sns,
    "eventbridge": run_eventbridge,
}

_set, _reset = log.invocation_var.set, log.invocation_var.reset
_warm = log.warm


def dispatch(handler: Handler, event: dict[str, Any], context: object) -> Any:
    """Run one invocation of ``handler`` as Lambda would, and return what Lambda returns.

    SQS: ``{"batchItemFailures": [...]}``. HTTP: an HTTP API payload 2.0 response (handler errors
    become 4xx/5xx responses). S3 and schedule: the handler's return value (a list, one per
    record, for an S3 event of several records); their exceptions propagate, failing the
    invocation so Lambda retries it.
    """
    adapter = ADAPTERS.get(handler.trigger.kind)
    if adapter is None:
        raise TypeError(
            f"handler {handler.name!r}: flowfn's runtime cannot run a {type(handler.trigger).__name__}; "
            f"it runs the kinds {', '.join(ADAPTERS)}"
        )
    if type(event) is not dict and not isinstance(event, Mapping):
        raise EventError(handler.trigger.kind, "", f"must be an object (a dict), got {type(event).__name__}")
    # What this invocation's log lines carry; their keys are worked out only when one is written.
    name = handler.settings.name
    cold = name not in _warm
    if cold:
        _warm.add(name)
    token = _set((handler, context, cold))
    try:
        return adapter(handler, event, context)
    finally:
        _reset(token)
