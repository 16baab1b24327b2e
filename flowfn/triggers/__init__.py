"""Trigger kinds: one module each, holding the frozen spec and its validation.

Each kind's module is imported when its spec is first asked for (``flowfn.triggers.S3Trigger``), so
a deployed function loads its own kind's validation only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowfn.triggers.base import Trigger

if TYPE_CHECKING:
    from flowfn.triggers.dynamodb import DynamoDbStreamTrigger
    from flowfn.triggers.eventbridge import EventBridgeTrigger
    from flowfn.triggers.http import HttpTrigger
    from flowfn.triggers.kinesis import KinesisTrigger
    from flowfn.triggers.s3 import S3Trigger
    from flowfn.triggers.schedule import ScheduleTrigger
    from flowfn.triggers.sns import SnsTrigger
    from flowfn.triggers.sqs import SqsTrigger

__all__ = [
    "DynamoDbStreamTrigger", "EventBridgeTrigger", "HttpTrigger", "KinesisTrigger", "S3Trigger",
    "ScheduleTrigger", "SnsTrigger", "SqsTrigger", "Trigger",
]

#: Each spec class and the module of its kind.
_MODULES = {
    "DynamoDbStreamTrigger": "dynamodb", "EventBridgeTrigger": "eventbridge", "HttpTrigger": "http",
    "KinesisTrigger": "kinesis", "S3Trigger": "s3", "ScheduleTrigger": "schedule", "SnsTrigger": "sns",
    "SqsTrigger": "sqs",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'flowfn.triggers' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"flowfn.triggers.{module}"), name)
    globals()[name] = value
    return value
