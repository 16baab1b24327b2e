"""The typed table from resource kind to its synth pieces. Adding a kind adds one entry here.

Each kind's module (``synth/<kind>.py``) holds its CloudFormation resource and outputs, the
value a function's environment carries for it, the ARN of each IAM target on it, the IAM actions
of each grant, and its node in ``flowfn graph``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flowfn.resources import Access, Bucket, EventBus, Grant, Queue, Resource, Stream, Table, Topic
from flowfn.synth.bucket import (
    BUCKET_ACTIONS,
    bucket_grant_target,
    bucket_graph,
    bucket_name,
    bucket_target_arn,
    declare_bucket,
)
from flowfn.synth.context import Build
from flowfn.synth.eventbus import (
    EVENTBUS_ACTIONS,
    declare_eventbus,
    eventbus_arn,
    eventbus_grant_target,
    eventbus_graph,
    eventbus_target_arn,
)
from flowfn.synth.iam import Target, TargetKind
from flowfn.synth.ids import ResourceId
from flowfn.synth.queue import (
    QUEUE_ACTIONS,
    declare_queue,
    queue_grant_target,
    queue_graph,
    queue_target_arn,
    queue_url,
)
from flowfn.synth.refs import Json
from flowfn.synth.stream import (
    STREAM_ACTIONS,
    declare_stream,
    stream_grant_target,
    stream_graph,
    stream_name,
    stream_target_arn,
)
from flowfn.synth.table import (
    TABLE_ACTIONS,
    declare_table,
    table_grant_target,
    table_graph,
    table_index_targets,
    table_name,
    table_target_arn,
)
from flowfn.synth.topic import (
    TOPIC_ACTIONS,
    declare_topic,
    topic_arn,
    topic_grant_target,
    topic_graph,
    topic_target_arn,
)


@dataclass(frozen=True)
class SynthResource:
    """A resource kind's synth pieces."""

    #: Adds the managed resource (under the given logical id) and its outputs.
    declare: Callable[[Build, Resource, str], None]
    #: What a function's environment carries for it (a bucket's name, a queue's URL).
    physical: Callable[[Build, Resource], Json]
    #: Longest physical name that value may become (for Lambda's 4 KB environment limit).
    physical_max: int
    #: The IAM actions of each grant on it.
    actions: dict[Access, tuple[str, ...]]
    #: The IAM target of a grant, and the key prefix a list is limited to.
    grant_target: Callable[[Grant], tuple[Target, str]]
    #: The IAM target kinds that refer to it.
    target_kinds: tuple[TargetKind, ...]
    #: The ARN a target on it renders to.
    target_arn: Callable[[Build, Resource, Target], Json]
    #: Its graph node (and edges of its own), given node ids and its label.
    graph: Callable[[Resource, ResourceId, str], tuple[list[str], list[str]]]
    #: Further targets a grant covers, with the same actions (a table's indexes).
    more_targets: Callable[[Grant], tuple[Target, ...]] = lambda grant: ()


#: Every resource kind synth knows: a new kind adds one entry.
RESOURCES: dict[type[Resource], SynthResource] = {
    Bucket: SynthResource(declare_bucket, bucket_name, 63, BUCKET_ACTIONS, bucket_grant_target,
                          ("bucket", "objects"), bucket_target_arn, bucket_graph),
    Queue: SynthResource(declare_queue, queue_url, 128, QUEUE_ACTIONS, queue_grant_target,
                         ("queue",), queue_target_arn, queue_graph),
    Table: SynthResource(declare_table, table_name, 255, TABLE_ACTIONS, table_grant_target,
                         ("table", "table-stream", "table-index"), table_target_arn, table_graph,
                         table_index_targets),
    Stream: SynthResource(declare_stream, stream_name, 128, STREAM_ACTIONS, stream_grant_target,
                          ("stream",), stream_target_arn, stream_graph),
    Topic: SynthResource(declare_topic, topic_arn, 256, TOPIC_ACTIONS, topic_grant_target,
                         ("topic",), topic_target_arn, topic_graph),
    EventBus: SynthResource(declare_eventbus, eventbus_arn, 300, EVENTBUS_ACTIONS, eventbus_grant_target,
                            ("eventbus",), eventbus_target_arn, eventbus_graph),
}


def resource_kind(res: Resource) -> SynthResource:
    """The synth pieces of ``res``'s kind."""
    return RESOURCES[type(res)]
