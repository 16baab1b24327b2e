"""S3 events: key decoding, one record at a time or the whole event, and failures."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any
from urllib.parse import quote_plus, unquote_plus

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowfn import App, Bucket, S3Event, S3Record
from flowfn.function import Handler
from flowfn.runtime import dispatch
from flowfn.runtime.events import decode_s3_key

Events = Callable[[str], dict[str, Any]]


def s3_event(reference: Events, *keys: str) -> dict[str, Any]:
    """An S3 event with one record per (already URL-encoded) key."""
    base = reference("s3Event.json")
    template = base["Records"][0]
    records = []
    for index, key in enumerate(keys):
        record = copy.deepcopy(template)
        record["s3"]["object"]["key"] = key
        record["s3"]["object"]["size"] = index
        records.append(record)
    base["Records"] = records
    return base


def handler_for(fn: Callable[..., Any], batch: bool = False) -> Handler:
    app = App("t")
    app.on_s3(Bucket("uploads"), batch=batch, name="h")(fn)
    return app.handler("h")


@pytest.mark.parametrize(
    ("encoded", "key"),
    [
        ("my+photo.jpg", "my photo.jpg"),
        ("a%2Bb.txt", "a+b.txt"),
        ("photos/2024/cat.png", "photos/2024/cat.png"),
        ("photos%2F2024%2Fcat.png", "photos/2024/cat.png"),  # an emulator that encodes slashes
        ("caf%C3%A9/%E6%97%A5%E6%9C%AC+%F0%9F%90%88.txt", "café/日本 🐈.txt"),
        ("100%25+sure%3F%26%3D.txt", "100% sure?&=.txt"),
        ("a%2Bb+c%20d", "a+b c d"),
    ],
)
def test_keys_are_decoded(reference: Events, encoded: str, key: str) -> None:
    seen: list[str] = []
    dispatch(handler_for(lambda record: seen.append(record.object_key)), s3_event(reference, encoded), None)
    assert seen == [key]


s3_keys = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=60)


@given(s3_keys)
def test_key_decoding_inverts_s3_encoding(key: str) -> None:
    # S3 encodes keys as form data, keeping slashes; some emulators encode slashes too.
    assert decode_s3_key(quote_plus(key, safe="/")) == key
    assert decode_s3_key(quote_plus(key)) == key


@given(st.text(st.sampled_from("a+% 2BF/é"), max_size=12))
def test_any_key_decodes_as_unquote_plus_decodes_it(text: str) -> None:
    seen: list[str] = []
    handler = handler_for(lambda record: seen.append(record.object_key))
    for event in ({"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"},
                                                                          "object": {"key": text}}}]},
                  {"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": "b"},
                                                                          "object": {"key": text}}}] * 2}):
        dispatch(handler, event, None)
    assert decode_s3_key(text) == unquote_plus(text)
    assert seen == [unquote_plus(text)] * 3


@given(st.lists(s3_keys, min_size=1, max_size=8))
def test_every_record_reaches_the_handler_in_order(keys: list[str]) -> None:
    event = {"Records": [{"eventName": "ObjectCreated:Put",
                          "s3": {"bucket": {"name": "b"}, "object": {"key": quote_plus(k, safe="/")}}}
                         for k in keys]}
    seen: list[str] = []
    result = dispatch(handler_for(lambda r: seen.append(r.object_key) or r.object_key), event, None)
    assert seen == keys
    assert result == (keys[0] if len(keys) == 1 else keys)


def test_multi_record_event_one_at_a_time(reference: Events, context: Any) -> None:
    seen: list[tuple[str, int | None, Any]] = []

    def handler(record: S3Record, ctx: Any) -> int | None:
        seen.append((record.object_key, record.size, ctx))
        return record.size

    event = s3_event(reference, "a.txt", "b+c.txt", "d/e.txt")
    assert dispatch(handler_for(handler), event, context) == [0, 1, 2]
    assert seen == [("a.txt", 0, context), ("b c.txt", 1, context), ("d/e.txt", 2, context)]


def test_multi_record_event_as_a_batch(reference: Events) -> None:
    def handler(event: S3Event) -> list[str]:
        assert len(event) == 3 and event.raw["Records"][0]["eventSource"] == "aws:s3"
        return [r.object_key for r in event]

    event = s3_event(reference, "a.txt", "b+c.txt", "d/e.txt")
    assert dispatch(handler_for(handler, batch=True), event, None) == ["a.txt", "b c.txt", "d/e.txt"]


def test_a_raising_record_fails_the_invocation(reference: Events) -> None:
    seen: list[str] = []

    def handler(record: S3Record) -> None:
        seen.append(record.object_key)
        if record.object_key == "bad":
            raise RuntimeError("cannot process")

    with pytest.raises(RuntimeError, match="cannot process"):
        dispatch(handler_for(handler), s3_event(reference, "ok", "bad", "later"), None)
    assert seen == ["ok", "bad"]


def test_version_id_and_quoted_fields(reference: Events) -> None:
    event = s3_event(reference, "v.txt")
    event["Records"][0]["s3"]["object"]["versionId"] = "3HL4kqtJlcpXroDTDmJ"
    records: list[S3Record] = []
    dispatch(handler_for(records.append), event, None)
    assert records[0].version_id == "3HL4kqtJlcpXroDTDmJ"
    assert records[0].raw is event["Records"][0]
    assert "v.txt" in repr(records[0])


def test_event_without_records_does_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    seen: list[Any] = []
    assert dispatch(handler_for(seen.append), {"Event": "s3:TestEvent"}, None) is None
    assert seen == []
    assert "without records" in capsys.readouterr().out
