"""DynamoDB Streams event-source mappings: the trigger spec, its validation and AWS-exact events."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, ClassVar

from flowfn.errors import ConfigError
from flowfn.resources import Table
from flowfn.triggers.streaming import StreamSettings, check_filters, stream_settings

#: The event names of DynamoDB Streams records.
EVENT_NAMES = ("INSERT", "MODIFY", "REMOVE")
#: What a DynamoDB Streams filter pattern may select on.
FILTER_KEYS = {"eventID", "eventName", "eventVersion", "eventSource", "awsRegion", "dynamodb",
               "userIdentity"}


class DynamoDbStreamTrigger(StreamSettings):
    """Run the handler on changes to a DynamoDB table, read from its stream in order.

    The table must be declared with ``stream=`` (an existing table also with ``stream_arn=``). By
    default the handler gets one :class:`~flowfn.runtime.dynamodb.DynamoDbRecord` at a time and a
    record whose handler raises is reported failed (with it, every later record of its shard is
    retried); ``batch=True`` passes the whole batch. With ``model=`` each record's new image (as
    plain Python values) is validated into that pydantic model first; a REMOVE has none, so
    ``filters=`` must keep removals out (``[{"eventName": ["INSERT", "MODIFY"]}]``). The mapping's
    settings are :class:`StreamSettings`'.
    """

    kind: ClassVar[str] = "dynamodb"

    @property
    def table(self) -> Table:
        """The table whose stream is read."""
        assert isinstance(self.source, Table)
        return self.source

    def describe(self) -> str:
        return f"dynamodb stream {self.table.logical_name} ({self.settings_text()})"


def make_dynamodb_trigger(
    table: Table, subject: str, filters: Any = None, **settings: Any
) -> DynamoDbStreamTrigger:
    """The validated trigger (``settings`` are :func:`stream_settings`' keywords)."""
    if not isinstance(table, Table):
        raise ConfigError(subject, "table", f"{table!r} is not a Table",
                          "declare it with Table('name', key='pk', stream=True) and pass that object")
    if table.stream_view is None:
        raise ConfigError(subject, "table", f"{table!r} has no stream",
                          f"declare it with Table({table.logical_name!r}, ..., stream=True)")
    if table.existing is not None and table.stream_arn is None:
        raise ConfigError(subject, "table", f"{table!r} is a table flowfn does not create, and a mapping "
                          "needs its stream's exact ARN (it ends in a label that changes whenever the "
                          "stream is turned on again)", f"declare it with Table({table.logical_name!r}, "
                          f"existing={table.existing!r}, stream=..., stream_arn='arn:aws:dynamodb:...'); "
                          f"`aws dynamodbstreams list-streams --table-name {table.existing}` prints the "
                          "ARN, as does the console (the table's Exports and streams tab)")
    checked = stream_settings(subject, positions=("latest", "trim_horizon"), **settings)
    if checked["model"] is not None and table.stream_view in ("KEYS_ONLY", "OLD_IMAGE"):
        raise ConfigError(subject, "model",
                          f"the table's stream carries no new image ({table.stream_view})",
                          "declare the table with stream='new_image' or 'new_and_old_images', or drop model=")
    patterns = check_filters(subject, filters, FILTER_KEYS)
    parsed = [json.loads(text) for text in patterns]
    _check_event_names(subject, parsed)
    if checked["model"] is not None and not _removals_filtered(parsed):
        raise ConfigError(subject, "model",
                          "a REMOVE record carries no new image to validate, so every deletion from the "
                          "table would fail validation and block its shard",
                          "add filters=[{'eventName': ['INSERT', 'MODIFY']}] so that removals never reach "
                          "the handler, or drop model= and read record.new_image")
    return DynamoDbStreamTrigger(source=table, filters=patterns, **checked)


def _check_event_names(subject: str, patterns: list[Mapping[str, Any]]) -> None:
    for pattern in patterns:
        names = pattern.get("eventName")
        for name in names if isinstance(names, list) else ():
            if isinstance(name, str) and name not in EVENT_NAMES:
                raise ConfigError(subject, "filters", f"eventName {name!r} is not a change DynamoDB "
                                  "Streams records, so the pattern matches nothing there",
                                  f"use {', '.join(repr(n) for n in EVENT_NAMES)} (upper case)")


def _removals_filtered(patterns: list[Mapping[str, Any]]) -> bool:
    """Whether every filter pattern (there is at least one) lets INSERT and MODIFY records through only."""
    return bool(patterns) and all(isinstance(names := pattern.get("eventName"), list) and names
               and all(name in ("INSERT", "MODIFY") for name in names) for pattern in patterns)


# -- AWS-exact events: what a DynamoDB Streams event-source mapping sends Lambda -----------------


def aws_ddb_sequence_number(raw: str) -> str:
    """A DynamoDB Streams sequence number in AWS's form (21+ digits; short ones are padded, in order)."""
    return raw if len(raw) >= 21 else "1" + raw.rjust(20, "0")


def dynamodb_record(
    stream_record: dict[str, Any], *, stream_arn: str, region: str, sequence_number: str,
) -> dict[str, Any]:
    """One Lambda DynamoDB Streams record from a record as ``GetRecords`` returns it (boto3's shape,
    with ``ApproximateCreationDateTime`` in Unix seconds)."""
    body = dict(stream_record["dynamodb"])
    body["SequenceNumber"] = sequence_number
    created = body.get("ApproximateCreationDateTime")
    if created is not None and not isinstance(created, int | float):
        created = created.timestamp()
    body["ApproximateCreationDateTime"] = float(int(created)) if created is not None else 0.0
    order = ("ApproximateCreationDateTime", "Keys", "NewImage", "OldImage", "SequenceNumber", "SizeBytes",
             "StreamViewType")
    return {
        "eventID": stream_record["eventID"],
        "eventName": stream_record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": region,
        "dynamodb": {k: body[k] for k in order if k in body},
        "eventSourceARN": stream_arn,
    }


def dynamodb_event(records: list[dict[str, Any]]) -> dict[str, Any]:
    """The DynamoDB Streams event Lambda receives: ``{"Records": [...]}``."""
    return {"Records": records}
