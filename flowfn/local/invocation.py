"""What an invocation leaves behind: its record, the context object its handler got, and the
exceptions that end it."""

from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = ["FailedResponse", "FunctionTimedOut", "GivenUp", "Invocation", "LocalContext", "Outcome"]

Outcome = Literal["ok", "error", "timeout", "partial", "throttled", "expired"]


class FunctionTimedOut(BaseException):
    """Raised inside a handler's thread when its function's timeout has passed."""


class FailedResponse(Exception):
    """The error of an HTTP invocation that answered 500 or more: ``HTTP 500``."""


@dataclass(frozen=True)
class GivenUp:
    """An event that is not tried again after this invocation failed, and where it went."""

    #: What was given up, for people: ``uploads/cat.jpg``, ``03:00:00 UTC``, ``message 5f1c...``.
    event: str
    #: How many times it was tried (an SQS message: received).
    attempts: int
    #: Where it went: the dead-letter queue a message moves to, or ``dropped``.
    destination: str
    #: Why it is not tried again: ``retries spent``, ``last receive``, ``reserved concurrency is 0``.
    reason: str


@dataclass(frozen=True)
class Invocation:
    """The record of one invocation: what went in, what came out, how long it took."""

    #: The function (handler) name.
    function: str
    #: The trigger kind: ``s3``, ``sqs``, ``schedule``, ``http`` (or ``invoke`` for direct calls).
    trigger: str
    #: What caused it, for people: ``uploads/cat.jpg``, ``jobs (3 messages)``, ``GET /health``.
    source: str
    #: The event the handler received.
    event: dict[str, Any]
    #: What the invocation returned (SQS: the batch response; HTTP: the payload 2.0 response).
    result: Any
    #: The exception that failed the invocation, if any (a TimeoutError for timeouts).
    error: BaseException | None
    #: ``ok``, ``error``, ``timeout``, ``partial`` (some SQS records failed) or ``throttled``; or
    #: ``expired``: not an invocation, stream records given up unhandled as older than the
    #: mapping's ``max_record_age_s`` (see ``given_up``).
    outcome: Outcome
    request_id: str
    started: datetime
    duration_ms: float
    #: Events this invocation was the last attempt at: each one's fate (see :class:`GivenUp`).
    given_up: tuple[GivenUp, ...] = ()

    @property
    def ok(self) -> bool:
        return self.outcome == "ok"

    @property
    def failed_ids(self) -> list[str]:
        """SQS: the message ids the invocation reported failed (all of them when it failed)."""
        if self.outcome in ("error", "timeout", "throttled"):
            return [r["messageId"] for r in self.event.get("Records", []) if "messageId" in r]
        if isinstance(self.result, dict):
            return [f["itemIdentifier"] for f in self.result.get("batchItemFailures", [])]
        return []

    def error_text(self) -> str:
        """The error as one line (``ValueError: bad input``), or ``""``."""
        if self.error is None:
            return ""
        if isinstance(self.error, FailedResponse):
            return str(self.error)
        return "".join(traceback.format_exception_only(self.error)).strip().splitlines()[-1]


@dataclass
class LocalContext:
    """The Lambda context object handlers receive, with the same attributes as in AWS."""

    function_name: str
    memory_limit_in_mb: int
    invoked_function_arn: str
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the invocation times out."""
        return max(0, int((self.deadline - time.monotonic()) * 1000))
