"""Sample events of every trigger kind, shaped as AWS sends them (``flowfn events``, and the
default event of ``flowfn invoke``). Identifiers derive from the inputs, so the same command
prints the same event, apart from times. Each kind's builders live in its local module."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flowfn.function import Handler
from flowfn.local.dynamodb import dynamodb_sample
from flowfn.local.eventbridge import eventbridge_sample
from flowfn.local.http import http_sample
from flowfn.local.kinds import kind_of
from flowfn.local.kinesis import kinesis_sample
from flowfn.local.s3 import s3_sample
from flowfn.local.schedule import schedule_sample
from flowfn.local.sns import sns_sample
from flowfn.local.sqs import sqs_sample

__all__ = ["dynamodb_sample", "eventbridge_sample", "http_sample", "kinesis_sample", "s3_sample",
           "sample_for", "schedule_sample", "sns_sample", "sqs_sample"]


def sample_for(handler: Handler, physical: Mapping[str, str] | None = None,
               region: str = "us-east-1") -> dict[str, Any]:
    """A plausible event for ``handler``'s trigger, naming its real resources when known."""
    try:
        sample = kind_of(handler.trigger).sample
    except KeyError as exc:
        raise ValueError(f"no sample event for a {type(handler.trigger).__name__}") from exc
    return sample(handler, physical or {}, region)
