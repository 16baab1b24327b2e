"""Declared resources (buckets, queues, tables, streams, topics, event buses), their grants and names.

A declared resource has a *logical* name (``Bucket("uploads")``) that is stable in code, and a
*physical* name that exists only once the resource does: a deployed bucket gets a derived, globally
unique name, and a queue's URL is known only after it is created. Handlers never hard-code
physical names; they read them through the declared object (``uploads.name``, ``jobs.url``), which
looks them up in the function's environment. synth and run-local set those variables, and only
for the resources a function is triggered by or was granted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flowfn.resources.base import Access, Grant, Resource

if TYPE_CHECKING:
    from flowfn.resources.bucket import Bucket
    from flowfn.resources.eventbus import EventBus
    from flowfn.resources.index import Index
    from flowfn.resources.queue import DEFAULT_VISIBILITY_TIMEOUT_S, MAX_VISIBILITY_TIMEOUT_S, Queue
    from flowfn.resources.stream import Stream
    from flowfn.resources.table import Table
    from flowfn.resources.topic import Topic

__all__ = [
    "DEFAULT_VISIBILITY_TIMEOUT_S", "MAX_VISIBILITY_TIMEOUT_S", "Access", "Bucket", "EventBus", "Grant",
    "Index", "Queue", "Resource", "Stream", "Table", "Topic",
]

#: Each kind's module, imported when one of its names is first asked for: a deployed function
#: loads the resource kinds its app declares, not every kind.
_MODULES = {
    "Bucket": "bucket", "EventBus": "eventbus", "Index": "index", "Queue": "queue",
    "DEFAULT_VISIBILITY_TIMEOUT_S": "queue", "MAX_VISIBILITY_TIMEOUT_S": "queue", "Stream": "stream",
    "Table": "table", "Topic": "topic",
}


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'flowfn.resources' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(f"flowfn.resources.{module}"), name)
    globals()[name] = value
    return value
