"""Declared resources (buckets, queues, tables, streams, topics, event buses), their grants and names.

A declared resource has a *logical* name (``Bucket("uploads")``) that is stable in code, and a
*physical* name that exists only once the resource does: a deployed bucket gets a derived, globally
unique name, and a queue's URL is known only after it is created. Handlers never hard-code
physical names; they read them through the declared object (``uploads.name``, ``jobs.url``), which
looks them up in the function's environment. synth and run-local set those variables, and only
for the resources a function is triggered by or was granted.
"""

from flowfn.resources.base import Access, Grant, Resource
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
