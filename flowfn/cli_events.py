"""``flowfn events``: sample events of every trigger kind, shaped as AWS sends them to Lambda.

Registered on the app of :mod:`flowfn.cli` when that module is imported."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from flowfn.cli import cli, fail, iso_time
from flowfn.errors import FlowfnError

events_cli = typer.Typer(help="Print sample events, shaped as AWS sends them to Lambda.",
                         no_args_is_help=True)
cli.add_typer(events_cli, name="events")


def _emit(event: dict[str, object]) -> None:
    import json

    print(json.dumps(event, indent=2))


AttributeOpt = Annotated[list[str] | None, typer.Option(
    "--attribute", help="A string message attribute, NAME=VALUE; repeatable.", show_default=False)]


def _attributes(items: list[str] | None) -> dict[str, str]:
    pairs = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise fail(f"--attribute {item!r}: write NAME=VALUE")
        pairs[name] = value
    return pairs


TimeOpt = Annotated[str | None, typer.Option("--time", help="Event time, ISO 8601 (default: now).",
                                             show_default=False)]
WindowOpt = Annotated[int, typer.Option(
    "--window", help="A tumbling window of this many seconds (1-900): adds window, state, shardId and "
    "isFinalInvokeForWindow.", show_default=False)]
StateOpt = Annotated[str, typer.Option("--state", help="With --window: the window's state so far, as JSON.")]
FinalOpt = Annotated[bool, typer.Option("--final", help="With --window: the window's final invocation "
                                        "(no records).")]


def _windowed(event: dict[str, Any], window: int, state: str, final: bool, shard: str) -> dict[str, Any]:
    """``event`` as a mapping with a tumbling window of ``window`` seconds sends it (0: as it is)."""
    import json

    from flowfn.triggers.streaming import MAX_TUMBLING_WINDOW_S, window_event, window_of

    if not window:
        if final or state != "{}":
            raise fail("--state and --final describe a tumbling window; add --window SECONDS")
        return event
    if not 1 <= window <= MAX_TUMBLING_WINDOW_S:
        raise fail(f"--window {window}: Lambda's tumbling windows are 1-{MAX_TUMBLING_WINDOW_S} seconds")
    try:
        carried = json.loads(state)
    except ValueError as exc:
        raise fail(f"--state: not JSON ({exc}); write an object such as '{{\"a\": 2}}'") from None
    if not isinstance(carried, dict):
        raise fail("--state: write a JSON object such as '{\"a\": 2}'")
    records = event["Records"]
    arrival = float(records[0].get("kinesis", {}).get("approximateArrivalTimestamp")
                    or records[0].get("dynamodb", {}).get("ApproximateCreationDateTime"))
    return window_event({"Records": [] if final else records}, window=window_of(arrival, window),
                        state=carried, shard_id=shard, source_arn=records[0]["eventSourceARN"], final=final)


@events_cli.command("s3")
def events_s3(
    bucket: Annotated[str, typer.Option("--bucket", help="Bucket name.")] = "uploads",
    key: Annotated[str, typer.Option("--key", help="Object key, plain or URL-encoded as S3 writes it in "
                                     "events ('my photo.jpg' or 'my+photo.jpg').")] = "sample.txt",
    event: Annotated[str, typer.Option("--event", help="created, removed, deleted, restored, tagged, or an "
                                       "S3 event type such as s3:ObjectCreated:CompleteMultipartUpload.")
                     ] = "created",
    size: Annotated[int, typer.Option("--size", help="Object size in bytes.")] = 1024,
    time: TimeOpt = None,
) -> None:
    """An S3 notification for one object."""
    from urllib.parse import unquote_plus

    from flowfn.local.samples import s3_sample

    try:  # a key as S3 writes it in events is decoded first, so it is not encoded twice
        _emit(s3_sample(bucket, unquote_plus(key), event=event, size=size, time=iso_time(time)))
    except FlowfnError as exc:
        raise fail(str(exc)) from None


@events_cli.command("sqs")
def events_sqs(
    body: Annotated[list[str] | None, typer.Option("--body", help="A message body; repeat for a batch.",
                                                   show_default=False)] = None,
    queue: Annotated[str, typer.Option("--queue", help="Queue name.")] = "jobs",
    attribute: AttributeOpt = None,
    time: TimeOpt = None,
) -> None:
    """An SQS batch, as an event-source mapping delivers it."""
    from flowfn.local.samples import sqs_sample

    _emit(sqs_sample(queue, body or ['{"hello": "world"}'], attributes=_attributes(attribute),
                     time=iso_time(time), group_id="group-1" if queue.endswith(".fifo") else None))


@events_cli.command("kinesis")
def events_kinesis(
    data: Annotated[list[str] | None, typer.Option(
        "--data", help="A record's data (text); repeat for a batch.", show_default=False)] = None,
    stream: Annotated[str, typer.Option("--stream", help="Stream name.")] = "clicks",
    partition_key: Annotated[str, typer.Option("--partition-key", help="Partition key.")] = "key-1",
    time: TimeOpt = None,
    window: WindowOpt = 0,
    state: StateOpt = "{}",
    final: FinalOpt = False,
) -> None:
    """A Kinesis batch, as an event-source mapping delivers it (--window: with a tumbling window)."""
    from flowfn.local.samples import kinesis_sample

    sample = kinesis_sample(stream, list(data or ['{"hello": "world"}']), partition_key=partition_key,
                            time=iso_time(time))
    _emit(_windowed(sample, window, state, final, "shardId-000000000000"))


@events_cli.command("dynamodb")
def events_dynamodb(
    table: Annotated[str, typer.Option("--table", help="Table name.")] = "orders",
    event: Annotated[str, typer.Option("--event", help="INSERT, MODIFY or REMOVE.")] = "INSERT",
    key: Annotated[str, typer.Option("--key", help="The item's key, NAME=VALUE (a string).")] = "pk=item-1",
    new: Annotated[str, typer.Option("--new", help="The new image as JSON (plain values).")] = '{"n": 1}',
    old: Annotated[str, typer.Option("--old", help="The old image as JSON (plain values).")] = '{"n": 0}',
    time: TimeOpt = None,
    window: WindowOpt = 0,
    state: StateOpt = "{}",
    final: FinalOpt = False,
) -> None:
    """A DynamoDB Streams batch of one change (NEW_AND_OLD_IMAGES), as an event-source mapping
    delivers it (--window: with a tumbling window)."""
    import json
    from decimal import Decimal

    from boto3.dynamodb.types import TypeSerializer

    from flowfn.local.samples import dynamodb_sample

    name, sep, value = key.partition("=")
    if not sep or not name:
        raise fail(f"--key {key!r}: write NAME=VALUE")
    kind = event.upper()
    if kind not in ("INSERT", "MODIFY", "REMOVE"):
        raise fail(f"--event {event!r}: use INSERT, MODIFY or REMOVE")
    ser = TypeSerializer()
    keys = {name: {"S": value}}

    def image(text: str, option: str) -> dict[str, Any]:
        try:
            plain = json.loads(text, parse_float=Decimal)
        except ValueError as exc:
            raise fail(f"{option}: not JSON ({exc}); write an object such as '{{\"n\": 1}}'") from None
        if not isinstance(plain, dict):
            raise fail(f"{option}: write a JSON object such as '{{\"n\": 1}}'")
        return {**keys, **{k: ser.serialize(_number(v)) for k, v in plain.items()}}

    new_image = None if kind == "REMOVE" else image(new, "--new")
    old_image = None if kind == "INSERT" else image(old, "--old")
    sample = dynamodb_sample(table, [(kind, keys, new_image, old_image)], time=iso_time(time))
    _emit(_windowed(sample, window, state, final, "shardId-00000000000000000000-00000000"))


def _number(value: Any) -> Any:
    # JSON integers as DynamoDB numbers (Decimal; decimals were parsed as Decimal already).
    from decimal import Decimal

    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, dict):
        return {k: _number(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_number(v) for v in value]
    return value


@events_cli.command("schedule")
def events_schedule(
    rule: Annotated[str, typer.Option("--rule", help="Rule (function) name.")] = "nightly",
    time: TimeOpt = None,
) -> None:
    """An EventBridge scheduled event."""
    from flowfn.local.samples import schedule_sample

    _emit(schedule_sample(rule, time=iso_time(time)))


@events_cli.command("sns")
def events_sns(
    message: Annotated[str, typer.Option("--message", help="The message text.")] = '{"hello": "world"}',
    topic: Annotated[str, typer.Option("--topic", help="Topic name or ARN.")] = "ready",
    subject: Annotated[str | None, typer.Option("--subject", help="The message's subject.",
                                                show_default=False)] = None,
    attribute: AttributeOpt = None,
    time: TimeOpt = None,
) -> None:
    """An SNS notification, as SNS invokes a subscribed function."""
    from flowfn.local.samples import sns_sample

    arn = topic if topic.startswith("arn:") else f"arn:aws:sns:us-east-1:123456789012:{topic}"
    _emit(sns_sample(arn, message, subject=subject, attributes=_attributes(attribute), time=iso_time(time)))


@events_cli.command("eventbridge")
def events_eventbridge(
    source: Annotated[str, typer.Option("--source", help="The event's source.")] = "com.example.orders",
    detail_type: Annotated[str, typer.Option("--detail-type", help="The event's detail-type.")
                           ] = "Order Placed",
    detail: Annotated[str, typer.Option("--detail", help="The event's detail, a JSON object.")] = "{}",
    resource: Annotated[list[str] | None, typer.Option("--resource", help="An ARN the event is about; "
                                                       "repeatable.", show_default=False)] = None,
    time: TimeOpt = None,
) -> None:
    """An event as an EventBridge rule delivers it to a function."""
    import json

    from flowfn.local.samples import eventbridge_sample

    try:
        body = json.loads(detail)
    except ValueError as exc:
        raise fail(f"--detail {detail!r} is not JSON ({exc}); write a JSON object such as '{{\"id\": 1}}'") \
            from None
    if not isinstance(body, dict):
        raise fail(f"--detail {detail!r} is not a JSON object; EventBridge's detail is one, such as '{{}}'")
    _emit(eventbridge_sample(source, detail_type, body, time=iso_time(time), resources=resource or []))


@events_cli.command("http")
def events_http(
    method: Annotated[str, typer.Option("--method", help="HTTP method.")] = "GET",
    path: Annotated[str, typer.Option("--path", help="Path as a client sends it (percent-encoded), with "
                                      "an optional query string.")] = "/",
    route: Annotated[str | None, typer.Option("--route", help="Route key such as 'GET /items/{id}', "
                                              "to fill path parameters.", show_default=False)] = None,
    body: Annotated[str, typer.Option("--body", help="Request body.")] = "",
    header: Annotated[list[str] | None, typer.Option("--header", help="NAME:VALUE; repeatable (a repeated "
                                                     "name is joined with commas).",
                                                     show_default=False)] = None,
    time: TimeOpt = None,
) -> None:
    """An API Gateway HTTP API request (payload format 2.0)."""
    from flowfn.local.samples import http_sample

    headers: list[tuple[str, str]] = []  # a repeated name is joined with commas, as API Gateway does
    for item in header or []:
        name, sep, value = item.partition(":")
        if not sep or not name.strip():
            raise fail(f"--header {item!r}: write NAME:VALUE")
        headers.append((name.strip(), value.strip()))
    try:
        _emit(http_sample(method, path, route=route, body=body, headers=headers, time=iso_time(time)))
    except ValueError as exc:
        raise fail(str(exc)) from None


