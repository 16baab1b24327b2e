"""Calls to the embedded emulator from the process that runs it skip the socket, and answer the same.

flowfn's own clients and handlers' plain ``boto3.client(...)`` calls are answered by the emulator's
application in-process (see flowfn.local.inprocess): no connection to its port is opened, while
headers, bodies and errors come back as the server gives them.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest

from flowfn import App, Bucket, Queue, SqsRecord
from flowfn.local import inprocess
from flowfn.testing import Harness, run_app

app = App("inproc")
notes = Queue("inproc-notes")
store = Bucket("inproc-store")


@app.on_sqs(notes, uses=[store.write(), store.read()])
def keep(record: SqsRecord, context: Any) -> None:
    """Store each note, with metadata, and read it back."""
    s3 = boto3.client("s3")
    s3.put_object(Bucket=store.name, Key=record.body, Body=record.body.encode() * 1000,
                  Metadata={"with_underscore": "u", "with-dash": "d"})
    s3.get_object(Bucket=store.name, Key=record.body)["Body"].read()


@pytest.fixture(scope="module")
def running() -> Iterator[Harness]:
    with run_app(app) as harness:
        yield harness


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Every address a socket of this process connects to while the test runs."""
    seen: list[Any] = []
    connect = socket.socket.connect

    def spy(self: socket.socket, address: Any) -> None:
        seen.append(address)
        connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", spy)
    return seen


def test_handlers_and_the_harness_reach_the_emulator_without_a_connection(
        running: Harness, connections: list[Any]) -> None:
    port = urlsplit(running.local.emulator.endpoint_url).port
    running.send(notes, "first")
    running.drain()
    (inv,) = running.invocations("keep")
    assert inv.ok
    assert running.download(store, "first") == b"first" * 1000
    assert not [a for a in connections if isinstance(a, tuple) and a[1] == port]


def _calls(harness: Harness, data: bytes) -> list[Any]:
    """What a few S3 and SQS calls answer: metadata spellings, a large body, an error, attributes."""
    s3, bucket = harness.client("s3"), harness.bucket_name(store)
    seen: list[Any] = []
    for metadata in ({"my_key": "1"}, {"my-key": "2"}, {"my_key": "1", "my-key": "2"}):
        s3.put_object(Bucket=bucket, Key="meta", Body=b"x", Metadata=metadata)
        seen.append(s3.get_object(Bucket=bucket, Key="meta")["Metadata"])
    s3.put_object(Bucket=bucket, Key="big.bin", Body=data)
    got = s3.get_object(Bucket=bucket, Key="big.bin")
    seen.append((got["ContentLength"], got["Body"].read() == data))
    with pytest.raises(s3.exceptions.NoSuchKey) as missing:
        s3.get_object(Bucket=bucket, Key="missing")
    seen.append(missing.value.response["Error"]["Code"])
    sqs, url = harness.client("sqs"), harness.queue_url("inproc-notes-dlq")
    sqs.send_message(QueueUrl=url, MessageBody="x", MessageAttributes={
        "kind": {"DataType": "String", "StringValue": "note"}})
    (message,) = sqs.receive_message(QueueUrl=url, MessageAttributeNames=["All"])["Messages"]
    sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    seen.append((message["Body"], message["MessageAttributes"]))
    return seen


def test_answers_are_the_ones_the_server_gives(running: Harness) -> None:
    data = os.urandom(1024 * 1024)
    in_process = _calls(running, data)
    netloc = urlsplit(running.local.emulator.endpoint_url).netloc
    served = inprocess.stop_serving(netloc)
    assert served is not None
    try:
        over_http = _calls(running, data)
    finally:
        inprocess.serve(netloc, served)
    assert in_process == over_http
    assert in_process[3] == (len(data), True)
    assert in_process[4] == "NoSuchKey"


def test_a_stopped_emulator_is_no_longer_answered_in_process() -> None:
    other = App("inproc-other")

    @other.on_sqs(Queue("inproc-other"))
    def ignore(record: SqsRecord, context: Any) -> None:
        """Do nothing."""

    with run_app(other) as harness:
        netloc = urlsplit(harness.local.emulator.endpoint_url).netloc
        assert netloc in inprocess.served()
    assert netloc not in inprocess.served()


def test_a_change_made_from_this_process_wakes_idle_pollers_and_a_read_does_not(running: Harness) -> None:
    import threading

    woken = threading.Event()
    inprocess.watch(woken)
    try:
        sqs, s3 = running.client("sqs"), running.client("s3")
        url = sqs.create_queue(QueueName="inproc-wake")["QueueUrl"]
        woken.clear()
        for read in (lambda: sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0),
                     lambda: sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"]),
                     lambda: s3.list_objects_v2(Bucket=running.bucket_name(store))):
            read()
            assert not woken.is_set()
        for change in (lambda: sqs.send_message(QueueUrl=url, MessageBody="x"),
                       lambda: s3.put_object(Bucket=running.bucket_name(store), Key="wake", Body=b"x"),
                       lambda: s3.delete_object(Bucket=running.bucket_name(store), Key="wake")):
            change()
            assert woken.is_set()
            woken.clear()
    finally:
        inprocess.unwatch(woken)
    sqs.send_message(QueueUrl=url, MessageBody="y")
    assert not woken.is_set()  # no longer watched


def test_pollers_watch_for_changes_while_they_run() -> None:
    other = App("inproc-watch")
    other.on_sqs(Queue("inproc-watch-jobs"), name="watch_jobs")(lambda record: None)
    other.on_s3(Bucket("inproc-watch-drops"), name="watch_drops")(lambda record: None)
    watched = set(inprocess._watchers)
    with run_app(other):
        assert len(inprocess._watchers - watched) == 2  # the SQS pollers' event and the S3 reader's
    assert inprocess._watchers == watched
