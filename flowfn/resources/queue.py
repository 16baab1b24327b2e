"""Queues: ``Queue("jobs")`` (a dead-letter queue by default, FIFO by name) and their grants."""

from __future__ import annotations

import re
from typing import ClassVar

from flowfn.errors import ConfigError
from flowfn.resources.base import Access, Grant, Resource, _check_int

_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]+")
_QUEUE_ARN = re.compile(r"^arn:aws[a-z-]*:sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>.+)$")
_QUEUE_URL = re.compile(r"^https?://[^/]+/(?P<account>\d{12})/(?P<name>[^/]+)$")

#: SQS limits, in seconds.
MAX_VISIBILITY_TIMEOUT_S = 43_200
DEFAULT_VISIBILITY_TIMEOUT_S = 30
MIN_RETENTION_S, MAX_RETENTION_S = 60, 1_209_600
MAX_DELAY_S = 900


class Queue(Resource):
    """An SQS queue the application uses.

    ``Queue("jobs")`` declares a queue that flowfn creates with server-side encryption and a
    dead-letter queue (``jobs-dlq``): a message that fails ``max_receive_count`` times moves
    there instead of being lost. ``max_receive_count=None`` declares a queue without a DLQ.
    A name ending in ``.fifo`` declares a FIFO queue (its DLQ is FIFO too).
    ``visibility_timeout_s`` defaults to six times the consuming function's timeout, as AWS advises.
    ``Queue("events", existing="arn:aws:sqs:...")`` (an ARN, URL or name) refers to an existing queue.
    """

    kind: ClassVar[str] = "queue"
    accesses: ClassVar[frozenset[Access]] = frozenset({Access.SEND, Access.CONSUME})
    env_format: ClassVar[str] = "FLOWFN_QUEUE_{}_URL"

    def __init__(
        self,
        name: str,
        *,
        max_receive_count: int | None = 3,
        visibility_timeout_s: int | None = None,
        retention_s: int = 345_600,
        delay_s: int = 0,
        content_based_deduplication: bool = False,
        existing: str | None = None,
        _is_dlq: bool = False,
    ) -> None:
        subject = f"Queue({name!r})"
        if not isinstance(name, str):
            raise ConfigError(subject, "name", f"{name!r} is not a string", "pass the queue's name as a str")
        if existing is not None and not isinstance(existing, str):
            raise ConfigError(subject, "existing", f"{existing!r} is not a string",
                              "pass the existing queue's ARN, URL or name as a str")
        if not isinstance(content_based_deduplication, bool):
            raise ConfigError(subject, "content_based_deduplication",
                              f"{content_based_deduplication!r} is not True or False", "pass True or False")
        self.existing = None
        if existing is not None:
            match = _QUEUE_ARN.match(existing) or _QUEUE_URL.match(existing)
            physical = match.group("name") if match else existing
            self.existing = existing
            self._existing_name = physical
        base = name.removesuffix(".fifo")
        self.fifo = name.endswith(".fifo")
        if not (_QUEUE_NAME.fullmatch(base) and len(name) <= 80):
            raise ConfigError(
                subject,
                "name",
                f"{name!r} is not a valid SQS queue name",
                "use 1-80 characters of letters, digits, '-' and '_' (a FIFO queue's name ends "
                "in '.fifo', which counts toward the 80)",
            )
        self.logical_name = name
        if self.existing is None and max_receive_count is not None:
            _check_int(subject, "max_receive_count", max_receive_count, 1, 1000, "receives")
            if len(base) + len("-dlq") + (5 if self.fifo else 0) > 80:
                raise ConfigError(
                    subject,
                    "name",
                    f"the dead-letter queue's name {base + '-dlq'!r} would pass SQS's 80 characters",
                    "shorten the queue's name",
                )
        if visibility_timeout_s is not None:
            _check_int(
                subject, "visibility_timeout_s", visibility_timeout_s, 0,
                MAX_VISIBILITY_TIMEOUT_S, "seconds",
            )
        _check_int(subject, "retention_s", retention_s, MIN_RETENTION_S, MAX_RETENTION_S, "seconds")
        _check_int(subject, "delay_s", delay_s, 0, MAX_DELAY_S, "seconds")
        if content_based_deduplication and not self.fifo:
            raise ConfigError(
                subject,
                "content_based_deduplication",
                "content-based deduplication exists only for FIFO queues",
                f"name the queue {name + '.fifo'!r}, or drop content_based_deduplication",
            )
        self.max_receive_count = None if self.existing else max_receive_count
        self.visibility_timeout_s = visibility_timeout_s
        self.retention_s = retention_s
        self.delay_s = delay_s
        self.content_based_deduplication = content_based_deduplication
        self.is_dlq = _is_dlq
        self.dlq: Queue | None = None
        if self.max_receive_count is not None:
            dlq_name = base + "-dlq" + (".fifo" if self.fifo else "")
            self.dlq = Queue(dlq_name, max_receive_count=None, retention_s=MAX_RETENTION_S, _is_dlq=True)

    def __repr__(self) -> str:
        if self.existing:
            return f"Queue({self.logical_name!r}, existing={self.existing!r})"
        return f"Queue({self.logical_name!r})"

    @property
    def existing_name(self) -> str | None:
        """The physical name of an existing queue, parsed from its ARN or URL."""
        return self._existing_name if self.existing else None

    @property
    def url(self) -> str:
        """The queue's URL, read from the running function's environment."""
        return self._bound(self.env_key, "queue URL")

    @property
    def name(self) -> str:
        """The queue's physical name (the last part of its URL)."""
        return self.url.rsplit("/", 1)[-1]

    def send(self) -> Grant:
        """Grant sending messages to this queue (``sqs:SendMessage``)."""
        return Grant(self, Access.SEND)

    def consume(self) -> Grant:
        """Grant receiving and deleting this queue's messages (polling it yourself)."""
        return Grant(self, Access.CONSUME)
