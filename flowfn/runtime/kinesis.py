"""Kinesis records: the typed record, the batch, and the adapter."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flowfn.function import Handler
from flowfn.runtime.invoke import Runner, each_event
from flowfn.runtime.shape import mapping, text
from flowfn.runtime.streaming import StreamBatch, process_stream

__all__ = ["KinesisBatch", "KinesisRecord", "prepare_kinesis", "run_kinesis"]


class KinesisRecord:
    """One Kinesis record, as Powertools names its fields.

    ``data``: the payload, base64-decoded (bytes); ``text``: it as UTF-8; :meth:`json`: it parsed.
    ``partition_key``, ``sequence_number``, ``arrival_time`` (UTC), ``shard_id``, ``raw``: the
    record exactly as Lambda delivered it.
    """

    __slots__ = ("_data", "partition_key", "raw", "sequence_number")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        body = mapping("kinesis", "kinesis",
                       raw.get("kinesis") if type(raw) is dict or isinstance(raw, Mapping) else None)
        self.raw = raw
        self.partition_key = text("kinesis", "kinesis.partitionKey", body.get("partitionKey"))
        self.sequence_number = text("kinesis", "kinesis.sequenceNumber", body.get("sequenceNumber"))
        self._data: bytes | None = None

    def __repr__(self) -> str:
        return (f"KinesisRecord(partition_key={self.partition_key!r}, "
                f"sequence_number={self.sequence_number!r})")

    @property
    def data(self) -> bytes:
        """The record's payload (decoded from the event's base64)."""
        if self._data is None:
            import base64

            self._data = base64.b64decode(text("kinesis", "kinesis.data", self.raw["kinesis"].get("data")))
        return self._data

    @property
    def text(self) -> str:
        """The payload as UTF-8 text."""
        return self.data.decode()

    def json(self) -> Any:
        """The payload parsed as JSON."""
        return json.loads(self.data)

    @property
    def arrival_time(self) -> datetime:
        """When Kinesis accepted the record (UTC)."""
        return datetime.fromtimestamp(float(self.raw["kinesis"]["approximateArrivalTimestamp"]), UTC)

    @property
    def shard_id(self) -> str:
        """The shard the record came from."""
        return str(self.raw.get("eventID", "")).split(":", 1)[0]

    def model_input(self) -> tuple[str, Any]:
        return ("json", self.data)


class KinesisBatch(StreamBatch):
    """A batch of Kinesis records (``batch=True``); see :class:`~flowfn.runtime.streaming.StreamBatch`."""

    __slots__ = ()


def run_kinesis(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    """The Kinesis adapter: the batch, with the first failed record reported for retry."""
    return process_stream(handler, event, context, "kinesis", KinesisRecord, KinesisBatch)


def prepare_kinesis(handler: Handler) -> Runner:
    """The kinesis adapter: what runs each event of ``handler``."""
    return each_event(run_kinesis, handler)
