"""The typed table from trigger kind to its local pieces. Adding a kind adds one entry here.

Each kind's module (``local/<kind>.py``) holds its source (what turns things happening on the
emulator, a clock or a socket into invocations) and the sample event ``flowfn invoke`` sends.
:class:`~flowfn.local.engine.LocalApp` calls every kind's source factory with that kind's
handlers (none, for a kind the app does not use), so every kind's source is made here.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from flowfn.app import App
from flowfn.function import Handler
from flowfn.local.dynamodb import DynamoDbReader, dynamodb_sample_for
from flowfn.local.eventbridge import eventbridge_sample_for, eventbridge_sources
from flowfn.local.http import Router, http_sample_for
from flowfn.local.invoker import Invoker
from flowfn.local.kinesis import KinesisReader, kinesis_sample_for
from flowfn.local.provision import Bindings
from flowfn.local.s3 import ObjectChange, S3Source, s3_sample_for
from flowfn.local.schedule import ScheduleSource, schedule_sample_for
from flowfn.local.shards import Checkpoints, ShardPoller, checkpoint_file
from flowfn.local.sns import sns_sample_for, sns_sources
from flowfn.local.source import Source
from flowfn.local.sqs import SqsPoller, sqs_sample_for
from flowfn.triggers.base import Trigger
from flowfn.triggers.dynamodb import DynamoDbStreamTrigger
from flowfn.triggers.eventbridge import EventBridgeTrigger
from flowfn.triggers.http import HttpTrigger
from flowfn.triggers.kinesis import KinesisTrigger
from flowfn.triggers.s3 import S3Trigger
from flowfn.triggers.schedule import ScheduleTrigger
from flowfn.triggers.sns import SnsTrigger
from flowfn.triggers.sqs import SqsTrigger


@dataclass
class SourceContext:
    """What a local run gives the source factories."""

    app: App
    invoker: Invoker
    bindings: Bindings
    #: Whether the run starts its sources (False only provisions, for one-off invocations).
    starts: bool
    #: Make failed messages visible again at once (flowfn.testing fast-forwards time).
    retry_now: bool
    #: A suffix unique to this run, for emulator names the run creates for itself.
    run: str
    #: Called with every object written to or removed from a bucket.
    observers: list[Callable[[ObjectChange], None]]
    #: The virtual clock's start; None: sources follow the wall clock.
    clock_start: datetime | None
    #: How far the wall clock of this run is shifted (run-local's ``--clock-start``).
    clock_offset: timedelta
    #: The sources of the same kind before a reload (none on the first load).
    previous: list[Source] = field(default_factory=list)
    #: Where stream pollers keep their checkpoints (None: in memory only).
    state_dir: Path | None = None


SourceFactory = Callable[[SourceContext, list[Handler]], list[Source]]
SampleFn = Callable[[Handler, Mapping[str, str], str], dict[str, Any]]


@dataclass(frozen=True)
class LocalKind:
    """A trigger kind's local pieces."""

    #: The sources that feed the kind's handlers.
    source: SourceFactory
    #: A plausible event for one handler: (handler, physical names by logical name, region).
    sample: SampleFn


def _s3_sources(ctx: SourceContext, handlers: list[Handler]) -> list[Source]:
    # One source reads every bucket's notifications: the observers (the mirror) see every change,
    # whether or not a handler is triggered by it.
    source = S3Source(ctx.app, ctx.invoker, ctx.bindings, ctx.observers, ctx.run)
    if ctx.starts:
        source.setup()
    return [source]


def _sqs_sources(ctx: SourceContext, handlers: list[Handler]) -> list[Source]:
    return [SqsPoller(h, ctx.invoker, ctx.bindings, retry_now=ctx.retry_now) for h in handlers]


def _schedule_sources(ctx: SourceContext, handlers: list[Handler]) -> list[Source]:
    start = ctx.clock_start or datetime.now(UTC) + ctx.clock_offset
    source = ScheduleSource(ctx.app, ctx.invoker, ctx.bindings, start=start, offset=ctx.clock_offset,
                            wall=ctx.clock_start is None)
    for previous in ctx.previous:  # a reload keeps the virtual clock where it was
        if isinstance(previous, ScheduleSource) and ctx.clock_start is not None:
            source.now = previous.now
    return [source]


def _checkpoints(ctx: SourceContext, handler: Handler) -> Checkpoints:
    path = None if ctx.state_dir is None else checkpoint_file(ctx.state_dir, handler.name)
    return Checkpoints(path)


def _kinesis_sources(ctx: SourceContext, handlers: list[Handler]) -> list[Source]:
    out: list[Source] = []
    target = ctx.bindings.target
    for h in handlers:
        trigger = h.trigger
        assert isinstance(trigger, KinesisTrigger)
        key = ("stream", trigger.stream.logical_name)
        role = f"arn:aws:iam::{target.account}:role/{h.settings.name}-role"
        reader = KinesisReader(target, ctx.bindings.names[key], ctx.bindings.arns[key], role)
        out.append(ShardPoller(h, ctx.invoker, reader, retry_now=ctx.retry_now,
                               send_failure=failure_sender(ctx.invoker, trigger),
                               checkpoints=_checkpoints(ctx, h), label=trigger.stream.logical_name))
    return out


def _dynamodb_sources(ctx: SourceContext, handlers: list[Handler]) -> list[Source]:
    out: list[Source] = []
    for h in handlers:
        trigger = h.trigger
        assert isinstance(trigger, DynamoDbStreamTrigger)
        table = trigger.table
        binary = frozenset(key[0] for key in (table.key, table.sort_key) if key is not None and key[1] == "B")
        reader = DynamoDbReader(ctx.bindings.target, ctx.bindings.arns[("table", table.logical_name)], binary)
        out.append(ShardPoller(h, ctx.invoker, reader, retry_now=ctx.retry_now,
                               send_failure=failure_sender(ctx.invoker, trigger),
                               checkpoints=_checkpoints(ctx, h), label=trigger.table.logical_name))
    return out


def _http_sources(ctx: SourceContext, handlers: list[Handler]) -> list[Source]:
    return [Router(ctx.app, ctx.invoker)]


#: Every trigger kind run-local knows, in the order their sources start: a new kind adds one entry.
TABLE: dict[type[Trigger], LocalKind] = {
    S3Trigger: LocalKind(_s3_sources, s3_sample_for),
    SqsTrigger: LocalKind(_sqs_sources, sqs_sample_for),
    ScheduleTrigger: LocalKind(_schedule_sources, schedule_sample_for),
    HttpTrigger: LocalKind(_http_sources, http_sample_for),
    KinesisTrigger: LocalKind(_kinesis_sources, kinesis_sample_for),
    DynamoDbStreamTrigger: LocalKind(_dynamodb_sources, dynamodb_sample_for),
    SnsTrigger: LocalKind(sns_sources, sns_sample_for),
    EventBridgeTrigger: LocalKind(eventbridge_sources, eventbridge_sample_for),
}


def kind_of(trigger: Trigger) -> LocalKind:
    """The local pieces of ``trigger``'s kind; KeyError when run-local does not know it."""
    return TABLE[type(trigger)]


def failure_sender(invoker: Invoker, trigger: Any) -> Callable[[dict[str, Any]], None] | None:
    """What sends a given-up batch's metadata to the trigger's on-failure queue (None: none)."""
    if trigger.on_failure is None:
        return None
    bindings = invoker.bindings
    url = bindings.queue_urls[trigger.on_failure.logical_name]
    sqs = bindings.target.client("sqs")

    def send(message: dict[str, Any]) -> None:
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(message))

    return send
