"""Declared resources (buckets, queues, tables, streams, topics, event buses), their grants and names.

A declared resource has a *logical* name (``Bucket("uploads")``) that is stable in code, and a
*physical* name that exists only once the resource does: a deployed bucket gets a derived, globally
unique name, and a queue's URL is known only after it is created. Handlers never hard-code
physical names; they read them through the declared object (``uploads.name``, ``jobs.url``), which
looks them up in the function's environment. synth and run-local set those variables, and only
for the resources a function is triggered by or was granted.
"""

from __future__ import annotations

import enum
import os
import re
from typing import ClassVar

from flowfn._frozen import Frozen
from flowfn.errors import ConfigError, NotBoundError

__all__ = ["Access", "Bucket", "EventBus", "Grant", "Queue", "Resource", "Stream", "Table", "Topic"]


class Access(enum.StrEnum):
    """What a grant lets a function do to a resource."""

    READ = "read"
    WRITE = "write"
    DELETE = "delete"
    LIST = "list"
    SEND = "send"
    CONSUME = "consume"
    READ_STREAM = "read_stream"
    PUT = "put"
    PUBLISH = "publish"
    PUT_EVENTS = "put_events"


class Grant(Frozen):
    """One permission a handler declares in ``uses=``: an access on a resource.

    ``prefix`` scopes bucket grants to keys that start with it ("" is the whole bucket).
    """

    resource: Resource
    access: Access
    prefix: str = ""

    def describe(self) -> str:
        scope = f" {self.prefix}*" if self.prefix else ""
        return f"{self.access.value} {self.resource.kind} {self.resource.logical_name}{scope}"


def _env_suffix(logical_name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "_", logical_name.upper())


class Resource:
    """Base class of declared resources. Compared by kind and logical name."""

    kind: ClassVar[str] = "resource"
    #: The accesses a grant on this kind may ask for.
    accesses: ClassVar[frozenset[Access]]
    #: The environment variable's name, with ``{}`` for the logical name in capitals.
    env_format: ClassVar[str]
    logical_name: str
    existing: str | None

    @property
    def env_key(self) -> str:
        """The environment variable that carries this resource's physical name in a function."""
        return self.env_format.format(_env_suffix(self.logical_name))

    @property
    def managed(self) -> bool:
        """True when flowfn creates the resource; False for an existing one it only wires to."""
        return self.existing is None

    def _bound(self, key: str, what: str) -> str:
        value = os.environ.get(key)
        if value:
            return value
        raise NotBoundError(
            f"{self!r} has no {what} bound here. flowfn binds it in the environment ({key}) of a "
            f"function that is triggered by it or granted it in uses=[...], when the function runs "
            f"in AWS, under `flowfn run-local` or under flowfn.testing. Outside such a function "
            f"(at import time, in `flowfn list`, in a plain unit test) no {what} exists yet: "
            f"run the code through flowfn.testing, or set {key} yourself in the test."
        )

    def _identity(self) -> tuple[str, str]:
        return (self.kind, self.logical_name)


# Prefixes and suffixes AWS reserves in bucket names.
_RESERVED_BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
_RESERVED_BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
_BUCKET_ARN = re.compile(r"^arn:aws[a-z-]*:s3:::(?P<name>[^/]+)$")


def check_bucket_name(name: str, subject: str, argument: str) -> None:
    """Apply S3's bucket naming rules, raising ConfigError that names subject and argument."""

    def bad(problem: str) -> ConfigError:
        return ConfigError(
            subject,
            argument,
            f"{name!r} {problem}",
            "use 3-63 characters of lowercase letters, digits, '-' and '.', starting and ending "
            "with a letter or digit, for example 'photo-uploads'",
        )

    if not isinstance(name, str):
        raise ConfigError(subject, argument, f"{name!r} is not a string", "pass the bucket's name as a str")
    if not 3 <= len(name) <= 63:
        raise bad(f"is {len(name)} characters long; S3 bucket names are 3-63")
    if not re.fullmatch(r"[a-z0-9.-]+", name):
        raise bad("has characters S3 does not allow (only lowercase letters, digits, '-', '.')")
    if not (name[0].isalnum() and name[-1].isalnum()):
        raise bad("must start and end with a lowercase letter or digit")
    if ".." in name or ".-" in name or "-." in name:
        raise bad("has adjacent periods or a period next to a hyphen")
    if re.fullmatch(r"\d{1,3}(\.\d{1,3}){3}", name):
        raise bad("is formatted as an IP address")
    for prefix in _RESERVED_BUCKET_PREFIXES:
        if name.startswith(prefix):
            raise bad(f"starts with {prefix!r}, which S3 reserves")
    for suffix in _RESERVED_BUCKET_SUFFIXES:
        if name.endswith(suffix):
            raise bad(f"ends with {suffix!r}, which S3 reserves")


def _check_prefix(owner: Resource, method: str, prefix: str) -> str:
    if not isinstance(prefix, str):
        raise ConfigError(f"{owner!r}.{method}()", "prefix", f"{prefix!r} is not a string",
                          "give a key prefix such as 'reports/', or leave it out for the whole bucket")
    if "*" in prefix or "?" in prefix:
        raise ConfigError(
            f"{owner!r}.{method}()",
            "prefix",
            f"{prefix!r} contains a wildcard",
            "give a plain key prefix such as 'reports/'; flowfn adds the wildcard itself",
        )
    if prefix.startswith("/"):
        raise ConfigError(
            f"{owner!r}.{method}()",
            "prefix",
            f"{prefix!r} starts with '/', but S3 keys do not",
            f"write it as {prefix.lstrip('/')!r}",
        )
    return prefix


class Bucket(Resource):
    """An S3 bucket the application uses.

    ``Bucket("uploads")`` declares a bucket that flowfn creates (encrypted, public access
    blocked) under a derived, globally unique name. ``Bucket("logs", existing="my-company-logs")``
    (a bucket name or ``arn:aws:s3:::...`` ARN) refers to a bucket that already exists: flowfn wires
    triggers and grants to it but never creates or deletes it.
    """

    kind: ClassVar[str] = "bucket"
    accesses: ClassVar[frozenset[Access]] = frozenset({Access.READ, Access.WRITE, Access.DELETE, Access.LIST})
    env_format: ClassVar[str] = "FLOWFN_BUCKET_{}"

    def __init__(self, name: str, *, existing: str | None = None) -> None:
        subject = f"Bucket({name!r})"
        check_bucket_name(name, subject, "name")
        self.logical_name = name
        self.existing = None
        if existing is not None:
            if not isinstance(existing, str):
                raise ConfigError(subject, "existing", f"{existing!r} is not a string",
                                  "pass the existing bucket's name or ARN as a str")
            match = _BUCKET_ARN.match(existing)
            physical = match.group("name") if match else existing
            check_bucket_name(physical, subject, "existing")
            self.existing = physical

    def __repr__(self) -> str:
        if self.existing:
            return f"Bucket({self.logical_name!r}, existing={self.existing!r})"
        return f"Bucket({self.logical_name!r})"

    @property
    def name(self) -> str:
        """The bucket's physical name, read from the running function's environment."""
        if self.existing and not os.environ.get(self.env_key):
            return self.existing
        return self._bound(self.env_key, "bucket name")

    def read(self, prefix: str = "") -> Grant:
        """Grant reading objects (``s3:GetObject``), optionally only under ``prefix``."""
        return Grant(self, Access.READ, _check_prefix(self, "read", prefix))

    def write(self, prefix: str = "") -> Grant:
        """Grant writing objects (``s3:PutObject``), optionally only under ``prefix``."""
        return Grant(self, Access.WRITE, _check_prefix(self, "write", prefix))

    def delete(self, prefix: str = "") -> Grant:
        """Grant deleting objects (``s3:DeleteObject``), optionally only under ``prefix``."""
        return Grant(self, Access.DELETE, _check_prefix(self, "delete", prefix))

    def list(self, prefix: str = "") -> Grant:
        """Grant listing keys (``s3:ListBucket``), optionally only under ``prefix``."""
        return Grant(self, Access.LIST, _check_prefix(self, "list", prefix))


_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]+")
_QUEUE_ARN = re.compile(r"^arn:aws[a-z-]*:sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):(?P<name>.+)$")
_QUEUE_URL = re.compile(r"^https?://[^/]+/(?P<account>\d{12})/(?P<name>[^/]+)$")

#: SQS limits, in seconds.
MAX_VISIBILITY_TIMEOUT_S = 43_200
DEFAULT_VISIBILITY_TIMEOUT_S = 30
MIN_RETENTION_S, MAX_RETENTION_S = 60, 1_209_600
MAX_DELAY_S = 900


def _check_int(subject: str, argument: str, value: int, low: int, high: int, unit: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(subject, argument, f"{value!r} is not a whole number", "pass an int")
    if not low <= value <= high:
        raise ConfigError(
            subject,
            argument,
            f"{value} {unit} is outside what AWS accepts ({low}-{high})",
            f"choose a value between {low} and {high}",
        )
    return value


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


_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_TABLE_ARN = re.compile(r"^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:\d{12}:table/(?P<name>[A-Za-z0-9_.-]+)$")
_ATTRIBUTE_TYPES = ("S", "N", "B")
#: DynamoDB's stream view types, by the short names flowfn accepts.
STREAM_VIEWS = {
    "new_image": "NEW_IMAGE", "old_image": "OLD_IMAGE", "new_and_old_images": "NEW_AND_OLD_IMAGES",
    "keys_only": "KEYS_ONLY",
}


def _check_key(subject: str, argument: str, key: object) -> tuple[str, str] | None:
    if key is None:
        return None
    if isinstance(key, str):
        key = (key, "S")
    if (
        not isinstance(key, tuple) or len(key) != 2 or not isinstance(key[0], str)
        or not 1 <= len(key[0]) <= 255 or key[1] not in _ATTRIBUTE_TYPES
    ):
        raise ConfigError(subject, argument, f"{key!r} is not an attribute name or (name, type)",
                          "pass the attribute's name ('pk', a string key) or (name, 'S'|'N'|'B')")
    return (key[0], key[1])


class Table(Resource):
    """A DynamoDB table the application uses.

    ``Table("orders", key="pk", sort_key=("at", "N"))`` declares a table flowfn creates with
    on-demand billing, encryption and point-in-time recovery. A key is an attribute name (a string
    attribute) or ``(name, "S"|"N"|"B")``. ``stream=`` turns on its DynamoDB stream with a view
    type: ``"new_and_old_images"`` (the default when a stream is wanted: ``stream=True``),
    ``"new_image"``, ``"old_image"`` or ``"keys_only"``. ``Table("ext", existing="name-or-arn")``
    refers to a table flowfn does not create (give ``stream=`` if its stream is on and used).
    """

    kind: ClassVar[str] = "table"
    accesses: ClassVar[frozenset[Access]] = frozenset({Access.READ, Access.WRITE, Access.READ_STREAM})
    env_format: ClassVar[str] = "FLOWFN_TABLE_{}"

    def __init__(
        self,
        name: str,
        *,
        key: str | tuple[str, str] | None = None,
        sort_key: str | tuple[str, str] | None = None,
        stream: bool | str = False,
        point_in_time_recovery: bool = True,
        existing: str | None = None,
    ) -> None:
        subject = f"Table({name!r})"
        if not isinstance(name, str) or not _TABLE_NAME.fullmatch(name):
            raise ConfigError(subject, "name", f"{name!r} is not a valid DynamoDB table name",
                              "use 3-255 characters of letters, digits, '_', '-' and '.'")
        self.logical_name = name
        self.existing = None
        if existing is not None:
            if not isinstance(existing, str):
                raise ConfigError(subject, "existing", f"{existing!r} is not a string",
                                  "pass the existing table's name or ARN as a str")
            match = _TABLE_ARN.match(existing)
            physical = match.group("name") if match else existing
            if not _TABLE_NAME.fullmatch(physical):
                raise ConfigError(subject, "existing", f"{existing!r} is not a table name or ARN",
                                  "pass the existing table's name or arn:aws:dynamodb:...:table/NAME")
            self.existing = physical
        self.key = _check_key(subject, "key", key)
        if self.key is None and self.existing is None:
            raise ConfigError(subject, "key", "a table flowfn creates needs a partition key",
                              "pass key='pk' (or key=('pk', 'N') for a number)")
        self.sort_key = _check_key(subject, "sort_key", sort_key)
        if self.sort_key is not None and self.key is not None and self.sort_key[0] == self.key[0]:
            raise ConfigError(subject, "sort_key", f"it repeats the partition key {self.key[0]!r}",
                              "name a different attribute, or drop sort_key")
        if stream is True:
            stream = "new_and_old_images"
        if stream is False:
            self.stream_view: str | None = None
        elif isinstance(stream, str) and stream.lower() in STREAM_VIEWS:
            self.stream_view = STREAM_VIEWS[stream.lower()]
        else:
            raise ConfigError(subject, "stream", f"{stream!r} is not a stream view type",
                              f"pass True or one of {', '.join(repr(v) for v in STREAM_VIEWS)}")
        if not isinstance(point_in_time_recovery, bool):
            raise ConfigError(subject, "point_in_time_recovery", f"{point_in_time_recovery!r} is not "
                              "True or False", "pass True or False")
        self.point_in_time_recovery = point_in_time_recovery

    def __repr__(self) -> str:
        if self.existing:
            return f"Table({self.logical_name!r}, existing={self.existing!r})"
        return f"Table({self.logical_name!r})"

    @property
    def name(self) -> str:
        """The table's physical name, read from the running function's environment."""
        if self.existing and not os.environ.get(self.env_key):
            return self.existing
        return self._bound(self.env_key, "table name")

    def read(self) -> Grant:
        """Grant reading items (get, batch get, query, scan) on the table and its indexes."""
        return Grant(self, Access.READ)

    def write(self) -> Grant:
        """Grant writing items (put, update, delete, batch write, conditional writes)."""
        return Grant(self, Access.WRITE)

    def read_stream(self) -> Grant:
        """Grant reading the table's DynamoDB stream yourself (describe, iterators, records)."""
        if self.stream_view is None:
            raise ConfigError(f"{self!r}.read_stream()", "stream", "the table has no stream",
                              f"declare it with Table({self.logical_name!r}, ..., stream=True)")
        return Grant(self, Access.READ_STREAM)


_STREAM_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")
_STREAM_ARN = re.compile(r"^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:\d{12}:stream/(?P<name>[A-Za-z0-9_.-]+)$")


class Stream(Resource):
    """A Kinesis data stream the application uses.

    ``Stream("clicks", shards=2)`` declares a provisioned stream flowfn creates, encrypted with
    the AWS-managed key, keeping records ``retention_hours`` (24-8760). ``Stream("ext",
    existing="name-or-arn")`` refers to a stream flowfn does not create.
    """

    kind: ClassVar[str] = "stream"
    accesses: ClassVar[frozenset[Access]] = frozenset({Access.PUT, Access.READ})
    env_format: ClassVar[str] = "FLOWFN_STREAM_{}"

    def __init__(
        self, name: str, *, shards: int = 1, retention_hours: int = 24, existing: str | None = None,
    ) -> None:
        subject = f"Stream({name!r})"
        if not isinstance(name, str) or not _STREAM_NAME.fullmatch(name):
            raise ConfigError(subject, "name", f"{name!r} is not a valid Kinesis stream name",
                              "use 1-128 characters of letters, digits, '_', '-' and '.'")
        self.logical_name = name
        self.existing = None
        if existing is not None:
            if not isinstance(existing, str):
                raise ConfigError(subject, "existing", f"{existing!r} is not a string",
                                  "pass the existing stream's name or ARN as a str")
            match = _STREAM_ARN.match(existing)
            physical = match.group("name") if match else existing
            if not _STREAM_NAME.fullmatch(physical):
                raise ConfigError(subject, "existing", f"{existing!r} is not a stream name or ARN",
                                  "pass the stream's name or arn:aws:kinesis:...:stream/NAME")
            self.existing = physical
        self.shards = _check_int(subject, "shards", shards, 1, 500, "shards")
        self.retention_hours = _check_int(subject, "retention_hours", retention_hours, 24, 8760, "hours")

    def __repr__(self) -> str:
        if self.existing:
            return f"Stream({self.logical_name!r}, existing={self.existing!r})"
        return f"Stream({self.logical_name!r})"

    @property
    def name(self) -> str:
        """The stream's physical name, read from the running function's environment."""
        if self.existing and not os.environ.get(self.env_key):
            return self.existing
        return self._bound(self.env_key, "stream name")

    def put(self) -> Grant:
        """Grant putting records (``kinesis:PutRecord``, ``kinesis:PutRecords``)."""
        return Grant(self, Access.PUT)

    def read(self) -> Grant:
        """Grant reading the stream yourself (describe, shards, iterators, records)."""
        return Grant(self, Access.READ)


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


_BUS_NAME = re.compile(r"[A-Za-z0-9._/-]{1,256}")
_BUS_ARN = re.compile(r"^arn:aws[a-z-]*:events:[a-z0-9-]+:\d{12}:event-bus/(?P<name>[A-Za-z0-9._/-]+)$")


class EventBus(Resource):
    """An EventBridge event bus: events put on it reach every rule whose pattern they match.

    ``EventBus("orders")`` declares a custom bus flowfn creates; ``EventBus("default")`` (or
    ``EventBus()``) is the account's default bus, which always exists. ``EventBus("audit",
    existing="arn:aws:events:...:event-bus/audit")`` refers to a bus that exists (by ARN or name).
    Handlers subscribe with ``@on_event(pattern, bus=bus)``; a handler granted ``bus.put_events()``
    puts events with ``boto3.client("events").put_events(Entries=[{..., "EventBusName": bus.name}])``.
    """

    kind: ClassVar[str] = "eventbus"
    accesses: ClassVar[frozenset[Access]] = frozenset({Access.PUT_EVENTS})
    env_format: ClassVar[str] = "FLOWFN_EVENTBUS_{}_ARN"

    def __init__(self, name: str = "default", *, existing: str | None = None) -> None:
        subject = f"EventBus({name!r})"
        if not isinstance(name, str) or not _BUS_NAME.fullmatch(name):
            raise ConfigError(subject, "name", f"{name!r} is not a valid event bus name",
                              "use 1-256 letters, digits and '.', '-', '_', '/'")
        if name.startswith("aws."):
            raise ConfigError(subject, "name", "names starting with 'aws.' are AWS's own (partner buses)",
                              "choose another name")
        self.logical_name = name
        self.existing = None
        physical = name
        if existing is not None:
            if not isinstance(existing, str):
                raise ConfigError(subject, "existing", f"{existing!r} is not a string",
                                  "pass the existing bus's ARN or name as a str")
            match = _BUS_ARN.match(existing)
            physical = match.group("name") if match else existing
            if not _BUS_NAME.fullmatch(physical):
                raise ConfigError(subject, "existing", f"{existing!r} is neither an event bus ARN nor a name",
                                  "pass arn:aws:events:<region>:<account>:event-bus/<name>, or its name")
            self.existing = existing
        elif name == "default":
            self.existing = "default"  # the account's own bus: flowfn never creates or deletes it
        self._existing_name = physical if self.existing is not None else None

    def __repr__(self) -> str:
        if self.existing and self.existing != "default":
            return f"EventBus({self.logical_name!r}, existing={self.existing!r})"
        return f"EventBus({self.logical_name!r})"

    @property
    def existing_name(self) -> str | None:
        """The physical name of an existing bus (``default`` for the default bus)."""
        return self._existing_name

    @property
    def arn(self) -> str:
        """The bus's ARN, read from the running function's environment."""
        return self._bound(self.env_key, "event bus ARN")

    @property
    def name(self) -> str:
        """The bus's physical name (what ``put_events`` takes as ``EventBusName``)."""
        return self.arn.split(":event-bus/", 1)[-1]

    def put_events(self) -> Grant:
        """Grant putting events on this bus (``events:PutEvents`` on its ARN)."""
        return Grant(self, Access.PUT_EVENTS)
