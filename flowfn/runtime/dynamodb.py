"""DynamoDB Streams records: the typed record, the batch, and the adapter."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flowfn.function import Handler
from flowfn.runtime.invoke import Runner, each_event
from flowfn.runtime.shape import mapping, text
from flowfn.runtime.streaming import StreamBatch, process_stream

__all__ = ["DynamoDbBatch", "DynamoDbRecord", "prepare_dynamodb", "run_dynamodb"]


def _plain(image: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """A DynamoDB-JSON image as plain Python values (boto3's deserializer: numbers are Decimal,
    binary values ``Binary``)."""
    if image is None:
        return None
    from boto3.dynamodb.types import TypeDeserializer  # only when an image is read

    des = TypeDeserializer()
    return {k: des.deserialize(_decoded(v)) for k, v in image.items()}


def _decoded(value: Any) -> Any:
    """An attribute value with its binary parts as bytes: Lambda's event carries them as base64
    text (JSON has no bytes), where boto3's deserializer takes what boto3's client returns."""
    if type(value) is not dict or len(value) != 1:
        return value
    ((tag, inner),) = value.items()
    if tag == "B":
        return {"B": _bytes(inner)}
    if tag == "BS" and isinstance(inner, list):
        return {"BS": [_bytes(one) for one in inner]}
    if tag == "M" and isinstance(inner, dict):
        return {"M": {k: _decoded(v) for k, v in inner.items()}}
    if tag == "L" and isinstance(inner, list):
        return {"L": [_decoded(v) for v in inner]}
    return value


def _bytes(value: Any) -> Any:
    if not isinstance(value, str):
        return value  # bytes already (an event built in a test), or not binary: the deserializer says
    import base64

    return base64.b64decode(value)


class DynamoDbRecord:
    """One change to a table, as Powertools names its fields.

    ``event_name``: ``INSERT``, ``MODIFY`` or ``REMOVE``. ``keys``, ``new_image``, ``old_image``:
    plain Python values (numbers as ``Decimal``, binary values as boto3's ``Binary``, decoded from
    the base64 text the event carries), None when the stream's view type leaves them out.
    ``sequence_number``, ``approximate_creation_time`` (UTC), ``raw``: the record as delivered.
    """

    __slots__ = ("_body", "event_name", "raw", "sequence_number")

    def __init__(self, raw: Mapping[str, Any]) -> None:
        record = mapping("dynamodb", "", raw)
        self._body = mapping("dynamodb", "dynamodb", record.get("dynamodb"))
        self.raw = raw
        self.event_name = text("dynamodb", "eventName", record.get("eventName"))
        self.sequence_number = text("dynamodb", "dynamodb.SequenceNumber", self._body.get("SequenceNumber"))

    def __repr__(self) -> str:
        return f"DynamoDbRecord(event_name={self.event_name!r}, sequence_number={self.sequence_number!r})"

    @property
    def keys(self) -> dict[str, Any]:
        """The item's key attributes."""
        return _plain(self._body.get("Keys")) or {}

    @property
    def new_image(self) -> dict[str, Any] | None:
        """The item after the change (None for REMOVE, or when the stream does not carry it)."""
        return _plain(self._body.get("NewImage"))

    @property
    def old_image(self) -> dict[str, Any] | None:
        """The item before the change (None for INSERT, or when the stream does not carry it)."""
        return _plain(self._body.get("OldImage"))

    @property
    def approximate_creation_time(self) -> datetime | None:
        """When the change was made (UTC, to the second)."""
        value = self._body.get("ApproximateCreationDateTime")
        return None if value is None else datetime.fromtimestamp(float(value), UTC)

    def model_input(self) -> tuple[str, Any]:
        image = self.new_image
        if image is None:  # a REMOVE: the item is gone, and the stream has nothing to validate
            raise ValueError(
                f"a {self.event_name} record carries no new image to validate; leave removals out with "
                "the trigger's filters=[{'eventName': ['INSERT', 'MODIFY']}], or drop model= and read "
                "record.new_image and record.old_image")
        return ("python", image)


class DynamoDbBatch(StreamBatch):
    """A batch of table changes (``batch=True``); see :class:`~flowfn.runtime.streaming.StreamBatch`."""

    __slots__ = ()


def run_dynamodb(handler: Handler, event: Mapping[str, Any], context: object) -> Any:
    """The DynamoDB Streams adapter: the batch, with the first failed record reported for retry."""
    return process_stream(handler, event, context, "dynamodb", DynamoDbRecord, DynamoDbBatch)


def prepare_dynamodb(handler: Handler) -> Runner:
    """The dynamodb adapter: what runs each event of ``handler``."""
    return each_event(run_dynamodb, handler)
