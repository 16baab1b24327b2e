"""The embedded emulator lets go of what it no longer holds: messages deleted, objects overwritten,
item versions replaced. moto as shipped listed every model instance it ever made until reset."""

from __future__ import annotations

import gc
import json
import sys
import urllib.request
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from flowfn import App, Bucket, Queue, Table
from flowfn.local.moto_patches.tracking import WeakInstances
from flowfn.testing import Harness, run_app


def _alive(module: str, name: str) -> int:
    cls = getattr(sys.modules[module], name)
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o) is cls)


@pytest.fixture
def harness() -> Iterator[Harness]:
    app = App("letgo")
    jobs = Queue("jobs")
    files = Bucket("files")
    items = Table("items", key="pk")

    @app.on_sqs(jobs)
    def work(record: Any) -> None: ...

    @app.on_schedule("rate(1 day)", enabled=False, uses=[files.write(), items.write()])
    def idle() -> None: ...

    with run_app(app) as h:
        yield h


def test_messages_handled_and_deleted_are_let_go(harness: Harness) -> None:
    sqs = harness.client("sqs")
    url = harness.queue_url("jobs")
    for start in range(0, 300, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "MessageBody": json.dumps({"n": start + n})} for n in range(10)])
    harness.drain()
    assert sum(len(i.event["Records"]) for i in harness.invocations("work")) == 300
    assert harness.failures() == []
    assert _alive("moto.sqs.models", "Message") == 0


def test_overwritten_objects_and_replaced_items_are_let_go_quietly(harness: Harness) -> None:
    unraisable: list[Any] = []
    hook, sys.unraisablehook = sys.unraisablehook, unraisable.append
    try:
        s3 = harness.client("s3")
        bucket = harness.bucket_name("files")
        for n in range(20):
            s3.put_object(Bucket=bucket, Key="same.txt", Body=f"version {n}".encode())
            harness.put_item("items", {"pk": "same", "n": n})
        assert s3.get_object(Bucket=bucket, Key="same.txt")["Body"].read() == b"version 19"
        assert _alive("moto.s3.models", "FakeKey") == 1
        assert _alive("moto.dynamodb.models.dynamo_type", "Item") == 1
    finally:
        sys.unraisablehook = hook
    # An overwritten object's buffer is closed as it goes, without moto's "not disposed of" warning.
    assert unraisable == []


def test_the_emulators_own_listing_still_names_what_is_in_use(harness: Harness) -> None:
    endpoint = harness.local.target.endpoint_url
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json") as answer:
        data = json.load(answer)
    queues = [q["name"] for q in data["sqs"]["Queue"]]
    assert any(name.endswith("jobs") for name in queues), queues


class _Thing:
    pass


def test_weak_instances_list_the_live_ones_and_stay_small() -> None:
    kept = [_Thing() for _ in range(10)]
    listed = WeakInstances(kept[:2])
    for n in range(5000):
        listed.append(_Thing())  # dropped at once
        if n < 8:
            listed.append(kept[2 + n])
    listed.append(1)  # an int takes no weak reference: not listed
    assert sorted(map(id, listed)) == sorted(map(id, kept))
    assert len(listed) == 10
    assert len(listed._refs) <= 2048
    gone = weakref.ref(kept[0])
    del kept[0]
    assert gone() is None and len(listed) == 9


def test_a_list_moto_reset_put_back_is_made_weak_again(harness: Harness) -> None:
    from moto.core.model_instances import reset_model_data
    from moto.sqs.models import Message

    reset_model_data()
    assert type(Message.instances_tracked) is list
    harness.send("jobs", {"n": 1})
    harness.drain()
    assert type(Message.instances_tracked) is WeakInstances
