"""Test a flowfn app end to end, in-process, on the machinery ``flowfn run-local`` uses.

    from flowfn.testing import run_app

    def test_thumbnail():
        with run_app("examples/thumbnail/app.py") as app:
            app.upload("uploads", "cat.jpg", jpeg_bytes)
            app.drain()
            assert app.keys("thumbnails") == ["cat.jpg"]
            assert app.invocations("make_thumbnail")[0].ok

or, with the pytest fixture ``flowfn_app`` that flowfn registers as a pytest plugin (a factory;
everything it started stops after the test)::

    def test_api(flowfn_app):
        app = flowfn_app("examples/stream/app.py")
        assert app.post("/events", json={"n": 1}).status == 202

``run_app(app, *, start=..., endpoint_url=None, region="us-east-1", http=False, async_retries=2)``
takes the app as a ``.py`` path, a package folder, ``module:attribute`` (imported with boto3
pointed at the emulator, so module-level clients work) or an :class:`~flowfn.App` object. It starts
the embedded AWS emulator, creates every bucket, queue and DLQ, and runs every handler as Lambda would (same
runtime code, context, environment, timeout, reserved concurrency). :class:`Harness` offers:

- ``upload(bucket, key, data)``, ``download(bucket, key)``, ``keys(bucket, prefix="")``,
  ``delete(bucket, key)``: objects; an upload fires the bucket's ``@on_s3`` handlers.
- ``send(queue, body, attributes=None, group_id=None, dedup_id=None, delay_s=0)``: a message (dicts
  and lists are sent as JSON; a FIFO queue needs ``group_id``, and ``dedup_id`` unless it
  deduplicates by content); ``messages(queue)``: bodies waiting in a queue (a DLQ, say), left in place.
- ``put_record(stream, data, partition_key=...)``, ``put_records(stream, items, partition_key=...)``:
  Kinesis records (dicts and lists as JSON); ``put_item(table, item)``, ``get_item(table, key)``:
  DynamoDB items as plain Python values; ``stream_name``, ``table_name``: their physical names;
  ``age_streams(seconds)``: make stream records older, for ``max_record_age_s``, and move the
  stream pollers' clock on, past the end of a tumbling window. Stream records are read shard by
  shard, with Lambda's checkpoints, retries, bisecting, tumbling windows and on-failure queue.
- ``publish(topic, message, subject=None, attributes=None, group_id=None, deduplication_id=None)``:
  an SNS publish that reaches every subscriber it matches; ``put_event(source, detail_type, detail,
  bus="default")``: an EventBridge event that reaches every rule it matches; ``topic_arn(logical)``.
- ``request(method, path, json=None, body=b"", headers=None)``, ``get(path)``, ``post(path, ...)``:
  an HTTP API call, answered as an :class:`HttpResult` (``status``, ``headers``, ``body``,
  ``json()``, ``text``, ``header(name)``). ``http=True`` also serves the API on a free
  127.0.0.1 port at ``http_url``.
- ``clock``: the schedule clock, a virtual one starting at ``start`` (default 2025-01-01 00:00
  UTC, a Wednesday). ``clock.advance(minutes=5)`` or ``clock.advance_to(datetime)`` runs every
  schedule due on the way, in time order, draining after each; a failing fire is retried
  ``async_retries`` times, as EventBridge's invocations are. ``clock.now``,
  ``clock.next_fires()``. ``fire(name)`` runs a schedule handler now, once (like ``flowfn invoke``).
- ``invoke(name, event)``: one direct invocation with a given event.
- ``drain(timeout=60)``: wait until every consumed queue is empty, every stream record is
  handled or given up, and no invocation runs. Failing stream batches are retried at once. Failed
  SQS messages are retried at once (the visibility timeout is fast-forwarded), so retries and
  moves to the DLQ finish within a drain; a failed S3 or schedule invocation is retried
  ``async_retries`` times, as Lambda does, without the minutes between. An SQS or stream batching
  window ends as soon as waiting could add nothing to its batch (no invocation runs and every
  waiting message or stream record is in a batch being gathered, each stream's shard read to its
  end); what was sent before drain() is gathered as ever, up to ``batch_size``. An open tumbling
  window is waited for until its final invocation (its end on the stream pollers' clock;
  ``age_streams`` to get there sooner). No sleeps needed.
- ``invocations(function=None, trigger=None, outcome=None)``: the record of every finished
  invocation (``function``, ``trigger``, ``event``, ``result``, ``error``, ``outcome``: ``ok``,
  ``error``, ``timeout``, ``partial`` or ``throttled``, ``duration_ms``, ``given_up``; a function
  or outcome there is none of is an error, not an empty list); ``failures()``: those that did not
  succeed; ``clear()`` forgets them. An HTTP answer of 500 or
  more is a failure (``error``, ``error_text()`` ``HTTP 500``; ``result`` holds the response).
  ``given_up`` lists the events an attempt was the last at, each with its ``event``,
  ``attempts`` and ``destination``: ``dropped`` after an S3 or schedule event's retries, or the
  dead-letter queue a message moves to after failing on its last receive.
- ``permissions()``: per function, the AWS actions and resources its handler's calls used beside
  those its policy grants (``used``, ``granted``, ``unused``, ``denied``, ``unchecked``). Every
  handler call is held to the policy ``flowfn synth`` writes for its function
  (``permissions="enforce"``, the default; ``"warn"`` logs and allows; ``"off"``).
- ``client(service)``: a boto3 client bound to the emulator; ``bucket_name(logical)``,
  ``queue_url(logical)``, ``environment(function)``: what handlers see.

Handlers run in threads; a timed-out handler is abandoned (Python cannot kill a thread) and
stopped at its next Python instruction. An AWS_PROFILE naming a profile that does not exist, or an
``endpoint_url`` with nothing behind it, raises a :class:`~flowfn.errors.FlowfnError` saying so.
"""

from __future__ import annotations

import json as jsonlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from flowfn.app import App
from flowfn.resources import Bucket, EventBus, Queue, Resource, Stream, Table, Topic

if TYPE_CHECKING:
    from flowfn.local.engine import LocalApp
    from flowfn.local.http import HttpResult
    from flowfn.local.invoker import Invocation
    from flowfn.permissions import FunctionUsage

__all__ = ["DEFAULT_START", "Clock", "Harness", "run_app"]

#: Where the virtual schedule clock starts unless told otherwise: 2025-01-01 00:00 UTC.
DEFAULT_START = datetime(2025, 1, 1, tzinfo=UTC)
#: The outcomes an invocation record has (flowfn.local.invocation.Outcome).
_OUTCOMES = ("ok", "error", "timeout", "partial", "throttled", "expired")


def _name(resource: str | Resource) -> str:
    return resource.logical_name if isinstance(resource, Resource) else resource


class Clock:
    """The virtual clock schedules follow under flowfn.testing."""

    def __init__(self, harness: Harness) -> None:
        self._harness = harness

    @property
    def now(self) -> datetime:
        """The virtual time, UTC."""
        return self._harness.local.schedules.now

    def next_fires(self) -> dict[str, datetime]:
        """The next fire time of every enabled schedule, by function name."""
        return self._harness.local.schedules.next_fires()

    def advance(self, delta: timedelta | None = None, **units: float) -> list[Invocation]:
        """Move the clock forward (``advance(hours=1)`` or ``advance(timedelta(...))``), running
        every schedule due on the way and draining after each fire. Returns their invocations."""
        step = (delta or timedelta()) + timedelta(**units)
        return self.advance_to(self.now + step)

    def advance_to(self, moment: datetime) -> list[Invocation]:
        """Move the clock to ``moment`` (timezone-aware), running the schedules due on the way."""
        if moment.tzinfo is None:
            raise ValueError("advance_to() needs a timezone-aware datetime, e.g. datetime(..., tzinfo=UTC)")
        local = self._harness.local
        return local.schedules.advance_to(moment, local.drain)


class Harness:
    """A running app under test. Made by :func:`run_app`; see the module docstring."""

    def __init__(self, local: LocalApp) -> None:
        self.local = local
        self.clock = Clock(self)
        self._clients: dict[str, Any] = {}

    @property
    def app(self) -> App:
        """The app as loaded (its handlers and resources)."""
        return self.local.app

    @property
    def http_url(self) -> str | None:
        """The HTTP API's base URL when started with ``http=True``."""
        return self.local.http_url

    # -- names and clients ----------------------------------------------------------------------

    def client(self, service: str) -> Any:
        """A boto3 client bound to the emulator (dummy credentials, the run's region)."""
        found = self._clients.get(service)
        if found is None:
            found = self._clients[service] = self.local.target.client(service)
        return found

    def bucket_name(self, bucket: str | Bucket) -> str:
        """The physical name of a declared bucket."""
        name = _name(bucket)
        try:
            return self.local.bindings.buckets[name]
        except KeyError:
            raise KeyError(f"the app declares no bucket {name!r} (buckets: "
                           f"{', '.join(self.local.bindings.buckets) or 'none'})") from None

    def queue_url(self, queue: str | Queue) -> str:
        """The URL of a declared queue or DLQ (``"jobs-dlq"``)."""
        name = _name(queue)
        try:
            return self.local.bindings.queue_urls[name]
        except KeyError:
            raise KeyError(f"the app declares no queue {name!r} (queues: "
                           f"{', '.join(self.local.bindings.queue_urls) or 'none'})") from None

    def environment(self, function: str) -> dict[str, str]:
        """The environment variables ``function`` runs with."""
        from flowfn.local.invoker import function_environment

        return function_environment(self.app, self.app.handler(function), self.local.bindings)

    # -- S3 -------------------------------------------------------------------------------------

    def upload(self, bucket: str | Bucket, key: str, data: bytes | str,
               content_type: str | None = None) -> None:
        """Write an object; the bucket's matching ``@on_s3`` handlers fire (call drain())."""
        body = data.encode() if isinstance(data, str) else data
        extra = {"ContentType": content_type} if content_type else {}
        self.client("s3").put_object(Bucket=self.bucket_name(bucket), Key=key, Body=body, **extra)

    def download(self, bucket: str | Bucket, key: str) -> bytes:
        """An object's content."""
        got = self.client("s3").get_object(Bucket=self.bucket_name(bucket), Key=key)
        return bytes(got["Body"].read())

    def delete(self, bucket: str | Bucket, key: str) -> None:
        """Remove an object (fires ``events="removed"`` handlers)."""
        self.client("s3").delete_object(Bucket=self.bucket_name(bucket), Key=key)

    def keys(self, bucket: str | Bucket, prefix: str = "") -> list[str]:
        """Every key in the bucket under ``prefix``, sorted."""
        pages = self.client("s3").get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket_name(bucket), Prefix=prefix)
        return sorted(obj["Key"] for page in pages for obj in page.get("Contents", []))

    # -- SQS ------------------------------------------------------------------------------------

    def send(self, queue: str | Queue, body: Any, *, attributes: dict[str, str] | None = None,
             group_id: str | None = None, dedup_id: str | None = None, delay_s: int = 0) -> str:
        """Send a message (non-strings as JSON); returns its message id."""
        text = body if isinstance(body, str) else jsonlib.dumps(body)
        kwargs: dict[str, Any] = {"QueueUrl": self.queue_url(queue), "MessageBody": text}
        if attributes:
            kwargs["MessageAttributes"] = {
                k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()
            }
        if group_id is not None:
            kwargs["MessageGroupId"] = group_id
        if dedup_id is not None:
            kwargs["MessageDeduplicationId"] = dedup_id
        if delay_s:
            kwargs["DelaySeconds"] = delay_s
        return str(self.client("sqs").send_message(**kwargs)["MessageId"])

    def messages(self, queue: str | Queue) -> list[str]:
        """Bodies of the messages waiting in a queue nobody consumes (a DLQ), in queue order (FIFO:
        each group in send order); left in place, their receive counts untouched."""
        from flowfn.local.sqs import make_visible, queued_bodies

        url = self.queue_url(queue)
        if url in self.local.pending_queues():
            raise ValueError(f"queue {_name(queue)!r} has a consumer that would race this read; "
                             "read its dead-letter queue, or assert on invocations() instead")
        if self.local.emulator.embedded:
            return queued_bodies(url, self.local.target.region)
        if url.endswith(".fifo"):
            raise ValueError(f"queue {_name(queue)!r} is a FIFO queue in another emulator, which shows "
                             "no more of a message group while some of it is received, so it cannot "
                             "be listed without deleting; run the test on the embedded emulator "
                             "(no endpoint_url), or assert on invocations() instead")
        sqs = self.client("sqs")
        bodies: list[str] = []
        handles: list[str] = []
        while True:
            got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30,
                                      WaitTimeSeconds=0).get("Messages", [])
            if not got:
                break
            bodies.extend(m["Body"] for m in got)
            handles.extend(m["ReceiptHandle"] for m in got)
        make_visible(sqs, url, handles)
        return bodies

    # -- HTTP -----------------------------------------------------------------------------------

    def request(self, method: str, path: str, *, json: Any = None, body: bytes | str = b"",
                headers: dict[str, str] | None = None) -> HttpResult:
        """Call the app's HTTP API (``path`` may carry a query string)."""
        pairs = list((headers or {}).items())
        raw = body.encode() if isinstance(body, str) else body
        if json is not None:
            raw = jsonlib.dumps(json).encode()
            if not any(k.lower() == "content-type" for k, _ in pairs):
                pairs.append(("content-type", "application/json"))
        pairs.append(("host", "localhost"))
        return self.local.router.handle(method, path, pairs, raw)

    def get(self, path: str, **kwargs: Any) -> HttpResult:
        """``request("GET", path, ...)``."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> HttpResult:
        """``request("POST", path, ...)``."""
        return self.request("POST", path, **kwargs)

    def topic_arn(self, topic: str | Topic) -> str:
        """The ARN of the app's topic ``topic`` in the emulator."""
        return self.local.bindings.arns[("topic", _name(topic))]

    def publish(self, topic: str | Topic, message: Any, *, subject: str | None = None,
                attributes: dict[str, str | int | float] | None = None, group_id: str | None = None,
                deduplication_id: str | None = None) -> str:
        """Publish ``message`` (dicts and lists as JSON) to ``topic``, with string or number
        ``attributes``; every ``@on_sns`` subscriber whose filter policy matches gets it. Returns
        the message id."""
        kwargs: dict[str, Any] = {
            "TopicArn": self.topic_arn(topic),
            "Message": message if isinstance(message, str) else jsonlib.dumps(message),
        }
        if subject is not None:
            kwargs["Subject"] = subject
        if attributes:
            kwargs["MessageAttributes"] = {
                k: {"DataType": "String", "StringValue": v} if isinstance(v, str)
                else {"DataType": "Number", "StringValue": str(v)} for k, v in attributes.items()}
        if group_id is not None:
            kwargs["MessageGroupId"] = group_id
        if deduplication_id is not None:
            kwargs["MessageDeduplicationId"] = deduplication_id
        return str(self.client("sns").publish(**kwargs)["MessageId"])

    def put_event(self, source: str, detail_type: str, detail: Any, *, bus: str | EventBus = "default",
                  resources: list[str] | None = None) -> str:
        """Put one event on ``bus`` (the app's bus by logical name; the default bus when left out);
        every ``@on_event`` handler whose pattern matches gets it. Returns the event id."""
        arn = self.local.bindings.arns.get(("eventbus", _name(bus)))
        name = arn.split(":event-bus/", 1)[1] if arn else _name(bus)
        entry = {"Source": source, "DetailType": detail_type, "Detail": jsonlib.dumps(detail),
                 "EventBusName": name, "Resources": list(resources or [])}
        answer = self.client("events").put_events(Entries=[entry])
        if answer.get("FailedEntryCount"):
            raise ValueError(f"put_events refused the event: {answer['Entries'][0]}")
        return str(answer["Entries"][0]["EventId"])

    # -- invoking and waiting -------------------------------------------------------------------

    def fire(self, function: str) -> Invocation:
        """Run the schedule handler ``function`` now, at the virtual time."""
        return self.local.schedules.fire(function, self.clock.now)

    def stream_name(self, stream: str | Stream) -> str:
        """The physical name of a declared Kinesis stream."""
        return self._named("stream", stream)

    def table_name(self, table: str | Table) -> str:
        """The physical name of a declared DynamoDB table."""
        return self._named("table", table)

    def _named(self, kind: str, res: str | Resource) -> str:
        name = _name(res)
        try:
            return self.local.bindings.names[(kind, name)]
        except KeyError:
            known = ", ".join(n for k, n in self.local.bindings.names if k == kind) or "none"
            raise KeyError(f"the app declares no {kind} {name!r} ({kind}s: {known})") from None

    def put_record(self, stream: str | Stream, data: Any, *, partition_key: str = "key") -> str:
        """Put one record on a Kinesis stream (bytes as they are, str as UTF-8, anything else as
        JSON); returns its sequence number as the emulator gives it."""
        raw = data if isinstance(data, bytes) else (
            data if isinstance(data, str) else jsonlib.dumps(data)).encode()
        out = self.client("kinesis").put_record(StreamName=self.stream_name(stream), Data=raw,
                                                PartitionKey=partition_key)
        return str(out["SequenceNumber"])

    def put_records(self, stream: str | Stream, items: list[Any], *,
                    partition_key: str | Callable[[Any], str] = "key") -> None:
        """Put records on a Kinesis stream, in order, 500 per call (AWS's limit)."""
        name = self.stream_name(stream)
        for start in range(0, len(items), 500):
            entries = []
            for item in items[start:start + 500]:
                raw = item if isinstance(item, bytes) else (
                    item if isinstance(item, str) else jsonlib.dumps(item)).encode()
                key = partition_key(item) if callable(partition_key) else partition_key
                entries.append({"Data": raw, "PartitionKey": key})
            self.client("kinesis").put_records(StreamName=name, Records=entries)

    def put_item(self, table: str | Table, item: dict[str, Any]) -> None:
        """Write an item (plain Python values, a float as the number it prints as) to a DynamoDB table."""
        from boto3.dynamodb.types import TypeSerializer

        ser = TypeSerializer()
        self.client("dynamodb").put_item(TableName=self.table_name(table),
                                         Item={k: ser.serialize(_decimals(v)) for k, v in item.items()})

    def get_item(self, table: str | Table, key: dict[str, Any]) -> dict[str, Any] | None:
        """An item of a DynamoDB table as plain Python values (numbers as Decimal), or None."""
        from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

        ser, des = TypeSerializer(), TypeDeserializer()
        got = self.client("dynamodb").get_item(TableName=self.table_name(table),
                                               Key={k: ser.serialize(_decimals(v)) for k, v in key.items()})
        item = got.get("Item")
        return None if item is None else {k: des.deserialize(v) for k, v in item.items()}

    def age_streams(self, seconds: float) -> None:
        """Make every stream record ``seconds`` older as stream pollers judge ``max_record_age_s``,
        and move their clock on as much (a tumbling window ends when that clock passes its end)."""
        from flowfn.local.shards import ShardPoller

        for source in self.local.sources():
            if isinstance(source, ShardPoller):
                source.skew_s += seconds

    def invoke(self, function: str, event: dict[str, Any]) -> Invocation:
        """One direct invocation of ``function`` with ``event`` (like ``flowfn invoke``)."""
        return self.local.invoker.invoke(self.app.handler(function), event, source="direct")

    def drain(self, timeout: float = 60.0) -> None:
        """Wait until every consumed queue is empty, every stream record is handled (or given
        up), and no invocation runs. SQS and stream batches whose window could gather nothing more
        (nothing runs, every waiting message or record is in one, a stream's shard is read to its
        end) go to their handlers without waiting the window out. A shard blocked by a record that
        keeps failing (no ``max_retries`` or ``max_record_age_s``) keeps it waiting, as it blocks
        the shard in AWS. An open tumbling window keeps it waiting until the window's final
        invocation."""
        import time

        from flowfn.local.engine import DrainTimeout
        from flowfn.local.shards import ShardPoller

        try:
            self.local.drain(timeout)
        except DrainTimeout as exc:
            blocked = [
                f"handler {source.handler.name!r} keeps failing on {source.label} {shard} ({attempts} "
                "attempts so far)" for source in self.local.sources() if isinstance(source, ShardPoller)
                for shard, attempts in sorted(source.blocked.items())]
            if blocked:
                raise DrainTimeout(f"{exc} Blocked shards: {'; '.join(blocked)}: a failing batch is retried "
                                   "until max_retries or max_record_age_s, which are unlimited unless set, "
                                   "so the shard waits for it as in Lambda. Fix: the error app.failures() "
                                   "shows, or set max_retries= (or max_record_age_s=) on the trigger."
                                   ) from None
            open_windows = [
                line for source in self.local.sources()
                if isinstance(source, ShardPoller) and source.windows is not None
                for line in source.windows.waiting(source.handler.name, time.time() + source.skew_s)]
            if not open_windows:
                raise
            raise DrainTimeout(f"{exc} Tumbling windows: {'; '.join(open_windows)}. Fix: call "
                               "app.age_streams(seconds) before drain() to move the stream pollers' "
                               "clock past a window's end, or test with a window of a second or two."
                               ) from None

    def invocations(self, function: str | None = None, *, trigger: str | None = None,
                    outcome: str | None = None) -> list[Invocation]:
        """Finished invocations, in the order they ended, optionally filtered. A function the app
        does not have is a KeyError, and an outcome there is none of a ValueError: a misspelt
        filter would find nothing, and an assertion that nothing failed would pass."""
        names = [h.name for h in self.local.app.handlers]
        if function is not None and function not in names:
            raise KeyError(f"the app has no function {function!r} (functions: {', '.join(names)})")
        if outcome is not None and outcome not in _OUTCOMES:
            raise ValueError(f"{outcome!r} is not an outcome; use one of {', '.join(_OUTCOMES)}")
        return [
            r for r in self.local.invoker.records
            if (function is None or r.function == function)
            and (trigger is None or r.trigger == trigger)
            and (outcome is None or r.outcome == outcome)
        ]

    def permissions(self) -> dict[str, FunctionUsage]:
        """Per function: the actions and resources its calls used beside those its policy grants,
        grants never used, calls denied, and calls flowfn does not check (see :mod:`flowfn.permissions`)."""
        from flowfn.permissions import usage

        guard = self.local.invoker.guard
        assert guard is not None  # made when the app loaded
        return usage(guard)

    def failures(self) -> list[Invocation]:
        """Invocations that did not fully succeed (an HTTP answer of 500 or more included)."""
        return [r for r in self.local.invoker.records if r.outcome != "ok"]

    def clear(self) -> None:
        """Forget the invocations recorded so far."""
        self.local.invoker.clear_records()


@contextmanager
def run_app(
    app: str | App,
    *,
    start: datetime = DEFAULT_START,
    endpoint_url: str | None = None,
    region: str = "us-east-1",
    http: bool = False,
    async_retries: int = 2,
    listeners: list[Callable[[Invocation], None]] | None = None,
    permissions: str = "enforce",
) -> Iterator[Harness]:
    """Run ``app`` in-process for a test; everything stops when the block ends.

    ``permissions``: ``enforce`` (a handler's AWS call its function's policy does not allow fails
    with AWS's AccessDenied), ``warn`` (logged and allowed) or ``off``.
    """
    from flowfn.local.engine import LocalApp, Options
    from flowfn.local.preflight import check_profile, explain

    check_profile()
    options = Options(endpoint_url=endpoint_url, region=region, retry_now=True, clock_start=start,
                      http_port=0 if http else None, async_retries=async_retries,
                      listeners=list(listeners or []), permissions=permissions)
    local = LocalApp(app, options)
    try:
        local.start()  # stops what it started when it fails
    except Exception as exc:
        problem = explain(exc, endpoint_url, "endpoint_url")
        if problem is not None:
            raise problem from None
        raise
    try:
        yield Harness(local)
    finally:
        local.stop()


def _decimals(value: Any) -> Any:
    """``value`` with each float as a Decimal, the type DynamoDB's numbers take in boto3."""
    from decimal import Decimal

    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, dict):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return {_decimals(v) for v in value}
    return [_decimals(v) for v in value] if isinstance(value, list | tuple) else value
