"""flowfn: decorator-based, event-driven AWS Lambda applications.

Write plain functions, decorate them with ``on_s3``, ``on_sqs``, ``on_schedule``, ``on_http``,
``on_sns`` or ``on_event``, declare the buckets, queues, topics and buses they use, and flowfn
synthesizes CloudFormation with least-privilege IAM, or runs the whole application locally
against an embedded AWS emulator.
"""

from flowfn.app import App, on_event, on_http, on_s3, on_schedule, on_sns, on_sqs
from flowfn.errors import AppLoadError, ConfigError, FlowfnError, NotBoundError
from flowfn.resources import Bucket, EventBus, Grant, Queue, Topic
from flowfn.runtime import (
    EventBridgeEvent,
    HTTPError,
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

__version__ = "0.1.0"

__all__ = [
    "App",
    "AppLoadError",
    "Bucket",
    "ConfigError",
    "EventBridgeEvent",
    "EventBus",
    "FlowfnError",
    "Grant",
    "HTTPError",
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
    "Topic",
    "__version__",
    "logger",
    "on_event",
    "on_http",
    "on_s3",
    "on_schedule",
    "on_sns",
    "on_sqs",
]
