"""SNS topics: ``Topic("ready")`` (FIFO by name) and the grant to publish."""

from __future__ import annotations

import re
from typing import ClassVar

from flowfn.errors import ConfigError
from flowfn.resources.base import Access, Grant, Resource
from flowfn.resources.queue import Queue

_TOPIC_NAME = re.compile(r"[A-Za-z0-9_-]{1,256}")
_TOPIC_ARN = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:(?P<name>[A-Za-z0-9_.-]+)$")


class Topic(Resource):
    """An SNS topic the application publishes to: one publish reaches every subscriber.

    ``Topic("thumbnail-ready")`` declares a standard topic flowfn creates; a name ending in
    ``.fifo`` declares a FIFO topic (ordered per message group; SNS delivers FIFO topics to SQS
    queues only). ``queues=[...]`` subscribes queues to the topic with raw message delivery (the
    message itself becomes the body; a FIFO topic's queues must be FIFO too, and keep its order).
    ``Topic("alerts", existing="arn:aws:sns:...")`` refers to a topic that exists (by ARN or name).
    Handlers subscribe with ``@on_sns(topic)``; a handler granted ``topic.publish()`` publishes with
    ``boto3.client("sns").publish(TopicArn=topic.arn, ...)``.
    """

    kind: ClassVar[str] = "topic"
    accesses: ClassVar[frozenset[Access]] = frozenset({Access.PUBLISH})
    env_format: ClassVar[str] = "FLOWFN_TOPIC_{}_ARN"

    def __init__(self, name: str, *, content_based_deduplication: bool = False,
                 queues: tuple[Queue, ...] | list[Queue] = (), existing: str | None = None) -> None:
        subject = f"Topic({name!r})"
        if not isinstance(name, str):
            raise ConfigError(subject, "name", f"{name!r} is not a string", "pass the topic's name as a str")
        self.fifo = name.endswith(".fifo")
        base = name.removesuffix(".fifo")
        if not (_TOPIC_NAME.fullmatch(base) and len(name) <= 256):
            raise ConfigError(
                subject, "name", f"{name!r} is not a valid SNS topic name",
                "use 1-256 letters, digits, '-' and '_' (a FIFO topic's name ends in '.fifo')",
            )
        if not isinstance(content_based_deduplication, bool):
            raise ConfigError(subject, "content_based_deduplication",
                              f"{content_based_deduplication!r} is not True or False", "pass True or False")
        if content_based_deduplication and not self.fifo:
            raise ConfigError(subject, "content_based_deduplication",
                              "content-based deduplication exists only for FIFO topics",
                              f"name the topic {name + '.fifo'!r}, or drop content_based_deduplication")
        self.logical_name = name
        self.content_based_deduplication = content_based_deduplication
        if not isinstance(queues, (list, tuple)) or not all(isinstance(q, Queue) for q in queues):
            raise ConfigError(subject, "queues", f"{queues!r} is not a list of Queue objects",
                              "pass queues=[Queue('name'), ...]")
        for queue in queues:
            if queue.fifo != self.fifo:
                raise ConfigError(
                    subject, "queues",
                    f"{queue!r} is {'a FIFO' if queue.fifo else 'a standard'} queue and the topic is "
                    f"{'FIFO' if self.fifo else 'standard'}; SNS keeps order only FIFO to FIFO, and "
                    "delivers a standard topic to standard queues",
                    "end both names in '.fifo', or neither",
                )
        #: Queues subscribed to the topic (raw message delivery).
        self.queues: tuple[Queue, ...] = tuple(queues)
        self.existing = None
        if existing is not None:
            if not isinstance(existing, str):
                raise ConfigError(subject, "existing", f"{existing!r} is not a string",
                                  "pass the existing topic's ARN or name as a str")
            match = _TOPIC_ARN.match(existing)
            physical = match.group("name") if match else existing
            if not _TOPIC_NAME.fullmatch(physical.removesuffix(".fifo")):
                raise ConfigError(subject, "existing",
                                  f"{existing!r} is neither a topic ARN nor a topic name",
                                  "pass arn:aws:sns:<region>:<account>:<name>, or the topic's name")
            if physical.endswith(".fifo") != self.fifo:
                raise ConfigError(subject, "existing", f"{existing!r} and {name!r} disagree on FIFO",
                                  "end both names in '.fifo' for a FIFO topic, or neither")
            self.existing = existing
        self._existing_name = physical if existing is not None else None

    def __repr__(self) -> str:
        if self.existing:
            return f"Topic({self.logical_name!r}, existing={self.existing!r})"
        return f"Topic({self.logical_name!r})"

    @property
    def existing_name(self) -> str | None:
        """The physical name of an existing topic, parsed from its ARN."""
        return self._existing_name

    @property
    def arn(self) -> str:
        """The topic's ARN, read from the running function's environment."""
        return self._bound(self.env_key, "topic ARN")

    def publish(self) -> Grant:
        """Grant publishing to this topic (``sns:Publish`` on its ARN)."""
        return Grant(self, Access.PUBLISH)
