"""The typed table from resource kind to its local pieces. Adding a kind adds one entry here.

Each kind's module (``local/<kind>.py``) names the kind's resources in the emulator, creates
them, and says what a function's environment carries for one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flowfn.app import App
from flowfn.local.bucket import bucket_name, bucket_physical, provision_buckets
from flowfn.local.emulator import AwsTarget
from flowfn.local.eventbus import eventbus_name, eventbus_physical, provision_eventbuses
from flowfn.local.provision import Bindings
from flowfn.local.queue import provision_queues, queue_name, queue_physical
from flowfn.local.stream import provision_streams, stream_name, stream_physical
from flowfn.local.table import provision_tables, table_name, table_physical
from flowfn.local.topic import provision_topics, topic_name, topic_physical
from flowfn.resources import Bucket, EventBus, Queue, Resource, Stream, Table, Topic


@dataclass(frozen=True)
class LocalResource:
    """A resource kind's local pieces."""

    #: The resource's name in the emulator.
    name: Callable[[Resource], str]
    #: Creates the app's resources of this kind that do not exist yet and records their names.
    provision: Callable[[App, Bindings, list[Resource]], None]
    #: What a function's environment carries for one (a bucket's name, a queue's URL).
    physical: Callable[[Bindings, Resource], str]


#: Every resource kind run-local knows, in the order they are created: a new kind adds one entry.
RESOURCES: dict[type[Resource], LocalResource] = {
    Bucket: LocalResource(bucket_name, provision_buckets, bucket_physical),
    Queue: LocalResource(queue_name, provision_queues, queue_physical),
    Table: LocalResource(table_name, provision_tables, table_physical),
    Stream: LocalResource(stream_name, provision_streams, stream_physical),
    Topic: LocalResource(topic_name, provision_topics, topic_physical),
    EventBus: LocalResource(eventbus_name, provision_eventbuses, eventbus_physical),
}


def local_name(res: Resource) -> str:
    """``res``'s name in the emulator."""
    return RESOURCES[type(res)].name(res)


def provision(app: App, target: AwsTarget, bindings: Bindings | None = None) -> Bindings:
    """Create every declared resource that does not exist yet, kind by kind; return their names.
    Idempotent: provisioning again after a code reload only adds what is new. A kind the app
    declares nothing of is skipped: its client (and the service model behind it) is never made."""
    bindings = bindings or Bindings(target)
    by_kind: dict[type[Resource], list[Resource]] = {kind: [] for kind in RESOURCES}
    for res in app.all_resources():
        by_kind[type(res)].append(res)
    for kind, local in RESOURCES.items():
        if by_kind[kind]:
            local.provision(app, bindings, by_kind[kind])
    return bindings
