"""flowfn: decorator-based, event-driven AWS Lambda applications.

Write plain functions, decorate them with ``on_s3``, ``on_sqs``, ``on_schedule``, ``on_http``,
``on_kinesis``, ``on_dynamodb_stream``, ``on_sns`` or ``on_event``, declare the buckets, queues,
tables, streams, topics and event buses they use, and flowfn synthesizes CloudFormation with
least-privilege IAM, or runs the whole application locally against an embedded AWS emulator.
"""

from typing import TYPE_CHECKING, Any

from flowfn.errors import AppLoadError, ConfigError, FlowfnError, NotBoundError

if TYPE_CHECKING:
    from flowfn.app import (
        App,
        on_dynamodb_stream,
        on_event,
        on_http,
        on_kinesis,
        on_s3,
        on_schedule,
        on_sns,
        on_sqs,
    )
    from flowfn.resources import Bucket, EventBus, Grant, Index, Queue, Stream, Table, Topic
    from flowfn.runtime import (
        DynamoDbBatch,
        DynamoDbRecord,
        EventBridgeEvent,
        HTTPError,
        KinesisBatch,
        KinesisRecord,
        LambdaContext,
        Request,
        Response,
        S3Event,
        S3Record,
        ScheduledEvent,
        SnsRecord,
        SqsBatch,
        SqsRecord,
        logger,
    )

#: The module each public name comes from, imported when the name is first asked for: a deployed
#: function loads what its own app module uses (``from flowfn import Bucket, on_s3``), not every kind.
_FROM = {
    **dict.fromkeys(["App", "on_dynamodb_stream", "on_event", "on_http", "on_kinesis", "on_s3", "on_schedule",
                     "on_sns", "on_sqs"], "flowfn.app"),
    **dict.fromkeys(["Bucket", "EventBus", "Grant", "Index", "Queue", "Stream", "Table", "Topic"],
                     "flowfn.resources"),
    **dict.fromkeys(["DynamoDbBatch", "DynamoDbRecord", "EventBridgeEvent", "HTTPError", "KinesisBatch",
                     "KinesisRecord", "LambdaContext", "Request", "Response", "S3Event", "S3Record",
                     "ScheduledEvent", "SnsRecord", "SqsBatch", "SqsRecord", "logger"], "flowfn.runtime"),
}


def __getattr__(name: str) -> Any:
    module = _FROM.get(name)
    if module is None:
        raise AttributeError(f"module 'flowfn' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_FROM})


__version__ = "0.1.0"

__all__ = [
    "App",
    "AppLoadError",
    "Bucket",
    "ConfigError",
    "DynamoDbBatch",
    "DynamoDbRecord",
    "EventBridgeEvent",
    "EventBus",
    "FlowfnError",
    "Grant",
    "HTTPError",
    "Index",
    "KinesisBatch",
    "KinesisRecord",
    "LambdaContext",
    "NotBoundError",
    "Queue",
    "Request",
    "Response",
    "S3Event",
    "S3Record",
    "ScheduledEvent",
    "SnsRecord",
    "SqsBatch",
    "SqsRecord",
    "Stream",
    "Table",
    "Topic",
    "__version__",
    "logger",
    "on_dynamodb_stream",
    "on_event",
    "on_http",
    "on_kinesis",
    "on_s3",
    "on_schedule",
    "on_sns",
    "on_sqs",
]
