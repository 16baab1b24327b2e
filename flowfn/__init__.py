"""flowfn: decorator-based, event-driven AWS Lambda applications.

Write plain functions, decorate them with ``on_s3``, ``on_sqs``, ``on_schedule`` or ``on_http``,
declare the buckets and queues they use, and flowfn synthesizes CloudFormation with least-privilege
IAM, or runs the whole application locally against an embedded AWS emulator.
"""

from flowfn.app import App, on_http, on_s3, on_schedule, on_sqs
from flowfn.errors import AppLoadError, ConfigError, FlowfnError, NotBoundError
from flowfn.resources import Bucket, EventBus, Grant, Queue, Topic
from flowfn.runtime import (
    HTTPError,
    LambdaContext,
    Request,
    Response,
    S3Event,
    S3Record,
    ScheduledEvent,
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
    "SqsBatch",
    "SqsRecord",
    "Topic",
    "__version__",
    "logger",
    "on_http",
    "on_s3",
    "on_schedule",
    "on_sqs",
]
