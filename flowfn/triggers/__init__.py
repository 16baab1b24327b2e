"""Trigger kinds: one module each, holding the frozen spec and its validation."""

from flowfn.triggers.base import Trigger
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
