"""flowfn's fixes to moto's SQS keep moto's behaviour: every assertion here runs against moto as
shipped and against moto with the fixes, so passing both ways proves them equivalent."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Iterator
from typing import Any

import pytest

moto = pytest.importorskip("moto")

from flowfn.local import moto_patches  # noqa: E402
from flowfn.local.emulator import EmbeddedMoto  # noqa: E402

COUNTS = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible",
          "ApproximateNumberOfMessagesDelayed"]


@pytest.fixture(params=["moto", "patched"])
def sqs(request: pytest.FixtureRequest) -> Iterator[Any]:
    import boto3

    if moto_patches.active():
        pytest.skip("an embedded emulator of this process has the fixes installed")
    if request.param == "patched":
        assert moto_patches.install(), "no fix applies to the installed moto"
    try:
        with moto.mock_aws():
            yield boto3.client("sqs", region_name="us-east-1", aws_access_key_id="testing",
                               aws_secret_access_key="testing")
    finally:
        moto_patches.uninstall()


def _counts(sqs: Any, url: str) -> list[int]:
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=COUNTS)["Attributes"]
    return [int(attrs[name]) for name in COUNTS]


def _backend_queue(name: str) -> Any:
    from moto.sqs.models import sqs_backends

    return sqs_backends["123456789012"]["us-east-1"].queues[name]


def test_counts_visibility_and_receive_counts(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for i in range(5):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    sqs.send_message(QueueUrl=url, MessageBody="later", DelaySeconds=60)
    assert _counts(sqs, url) == [5, 0, 1]

    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2, VisibilityTimeout=60,
                              AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in got] == ["m0", "m1"]
    assert [m["Attributes"]["ApproximateReceiveCount"] for m in got] == ["1", "1"]
    assert _counts(sqs, url) == [3, 2, 1]

    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60,
                                AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in again] == ["m0", "m2", "m3", "m4"]
    assert again[0]["Attributes"]["ApproximateReceiveCount"] == "2"
    assert _counts(sqs, url) == [0, 5, 1]

    sqs.delete_message(QueueUrl=url, ReceiptHandle=again[1]["ReceiptHandle"])
    # moto accepts a handle that is stale or already used (AWS refuses a stale one).
    sqs.delete_message(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"])
    sqs.delete_message(QueueUrl=url, ReceiptHandle=again[1]["ReceiptHandle"])
    assert _counts(sqs, url) == [0, 3, 1]
    with pytest.raises(sqs.exceptions.ReceiptHandleIsInvalid):
        sqs.delete_message(QueueUrl=url, ReceiptHandle="x" * 185)
    answer = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": "a", "ReceiptHandle": again[2]["ReceiptHandle"]}, {"Id": "b", "ReceiptHandle": "nope"}])
    assert [e["Id"] for e in answer["Successful"]] == ["a"]
    assert [e["Code"] for e in answer["Failed"]] == ["ReceiptHandleIsInvalid"]
    assert _counts(sqs, url) == [0, 2, 1]


def test_batch_delete_takes_entries_in_order(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(4)])
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=0)["Messages"][0]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=3, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in got] == ["m0", "m1", "m2"]
    answer = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": "stale", "ReceiptHandle": first["ReceiptHandle"]},
        {"Id": "current", "ReceiptHandle": got[0]["ReceiptHandle"]},
        {"Id": "bad", "ReceiptHandle": "y" * 185},
        {"Id": "last", "ReceiptHandle": got[2]["ReceiptHandle"]}])
    assert [e["Id"] for e in answer["Successful"]] == ["stale", "current", "last"]
    assert [(e["Id"], e["SenderFault"], e["Code"]) for e in answer["Failed"]] == [
        ("bad", True, "ReceiptHandleIsInvalid")]
    assert _counts(sqs, url) == [1, 1, 0]
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in rest] == ["m3"]


def test_deletes_leave_the_other_messages_in_order(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    for first in range(0, 30, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "MessageBody": f"m{n}"} for n in range(first, first + 10)])
    handles = {}
    for _ in range(3):
        for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]:
            handles[m["Body"]] = m["ReceiptHandle"]
    assert len(handles) == 30
    batch = [0, 1, 2, 5, 7, 8, 9, 15, 29]  # runs of neighbours, lone ones, the first and the last
    answer = sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": str(n), "ReceiptHandle": handles[f"m{n}"]} for n in reversed(batch)])
    assert len(answer["Successful"]) == len(batch) and not answer.get("Failed")
    for n in (21, 20):
        sqs.delete_message(QueueUrl=url, ReceiptHandle=handles[f"m{n}"])
    assert _counts(sqs, url) == [0, 19, 0]
    kept = [n for n in range(30) if n not in (*batch, 20, 21)]
    for n in kept:
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=handles[f"m{n}"], VisibilityTimeout=0)
    bodies = []
    for _ in range(2):
        bodies += [m["Body"] for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                                          VisibilityTimeout=60)["Messages"]]
    assert bodies == [f"m{n}" for n in kept]
    assert [m.body for m in _backend_queue("q")._messages] == bodies


def test_counts_read_while_messages_are_deleted_miss_none(sqs: Any) -> None:
    # Messages delayed behind the ones taken stay in the queue all along: no reading of the
    # counts, however it interleaves with the deletes ahead of them, may leave one out.
    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    taken, staying = 100, 300
    for first in range(0, taken, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "MessageBody": f"m{n}"} for n in range(first, first + 10)])
    for first in range(0, staying, 10):
        sqs.send_message_batch(QueueUrl=url, Entries=[
            {"Id": str(n), "MessageBody": f"later {n}", "DelaySeconds": 900} for n in range(first, first + 10)])
    readings: list[list[int]] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            readings.append(_counts(sqs, url))

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads take turns often, so readings interleave with deletes
    reader = threading.Thread(target=read)
    reader.start()
    try:
        while got := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                         VisibilityTimeout=60).get("Messages"):
            for m in got[:5]:
                sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            sqs.delete_message_batch(QueueUrl=url, Entries=[
                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got[5:])])
    finally:
        done.set()
        reader.join()
        sys.setswitchinterval(interval)
    assert readings and _counts(sqs, url) == [0, 0, staying]
    assert [r for r in readings if r[2] != staying] == []


def test_visibility_changed_while_messages_are_deleted_finds_its_message(
        sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A handler extends a message's time while the dispatcher deletes messages ahead of it in the
    # queue. The delete lands just as the change has looked at the message before its own: the
    # change still finds its message (a delete that shifted the list under it made it skip one).
    from moto.sqs.models import Message

    url = sqs.create_queue(QueueName="q")["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{n}"} for n in range(3)])
    ahead = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600)["Messages"]
    sqs.send_message(QueueUrl=url, MessageBody="kept")
    (kept,) = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600)["Messages"]
    looked, deleted = threading.Event(), threading.Event()
    original = Message.had_receipt_handle

    def had(self: Any, receipt_handle: str) -> bool:
        if self.body == "m2" and receipt_handle == kept["ReceiptHandle"] and not looked.is_set():
            looked.set()
            deleted.wait(0.5)  # the delete goes ahead now, unless the change holds the queue
        return bool(original(self, receipt_handle))

    monkeypatch.setattr(Message, "had_receipt_handle", had)
    errors: list[Exception] = []

    def extend() -> None:
        try:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=kept["ReceiptHandle"],
                                          VisibilityTimeout=900)
        except Exception as exc:  # its message not found: the handle called invalid
            errors.append(exc)

    extender = threading.Thread(target=extend)
    extender.start()
    assert looked.wait(10)
    sqs.delete_message(QueueUrl=url, ReceiptHandle=ahead[0]["ReceiptHandle"])
    deleted.set()
    extender.join()
    assert errors == []
    assert _counts(sqs, url) == [0, 3, 0]


def test_attributes_by_name_and_all(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="dead.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName="q.fifo", Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "true", "VisibilityTimeout": "7",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3})})["QueueUrl"]
    named = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=[
        "VisibilityTimeout", "FifoQueue", "ContentBasedDeduplication", "RedrivePolicy", "KmsMasterKeyId",
        "Policy", "ApproximateNumberOfMessages"])["Attributes"]
    assert named == {"VisibilityTimeout": "7", "FifoQueue": "true", "ContentBasedDeduplication": "true",
                     "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}),
                     "ApproximateNumberOfMessages": "0"}
    everything = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert {k: everything[k] for k in named} == named
    assert "KmsMasterKeyId" not in everything and everything["DeduplicationScope"] == "queue"
    standard = sqs.create_queue(QueueName="standard")["QueueUrl"]
    plain = sqs.get_queue_attributes(QueueUrl=standard, AttributeNames=["FifoQueue", "MessageRetentionPeriod"])
    assert plain["Attributes"] == {"MessageRetentionPeriod": "345600"}
    with pytest.raises(sqs.exceptions.ClientError, match="InvalidAttributeName"):
        sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Nope"])


def test_redrive_to_the_dead_letter_queue(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="dead")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName="q", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 2})})["QueueUrl"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": f"m{i}"} for i in range(3)])
    for _ in range(2):
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)["Messages"]
        assert got[0]["Body"] == "m0"
        sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"],
                                      VisibilityTimeout=0)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in got] == ["m1", "m2"]
    dead = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [(m["Body"], m["Attributes"]["ApproximateReceiveCount"]) for m in dead] == [("m0", "3")]
    assert _counts(sqs, url) == [0, 2, 0]


def test_fifo_groups_and_deduplication(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for body, group, dedup in [("a1", "A", "1"), ("a2", "A", "2"), ("b1", "B", "3"), ("a1 again", "A", "1")]:
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group, MessageDeduplicationId=dedup)
    assert _counts(sqs, url) == [3, 0, 0]
    first = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in first] == ["a1"]
    rest = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in rest] == ["b1"]  # group A is locked while a1 is in flight
    sqs.delete_message(QueueUrl=url, ReceiptHandle=first[0]["ReceiptHandle"])
    nxt = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in nxt] == ["a2"]

    with pytest.raises(sqs.exceptions.ClientError, match="MissingParameter"):
        sqs.send_message(QueueUrl=url, MessageBody="x")
    with pytest.raises(sqs.exceptions.ClientError, match="ContentBasedDeduplication"):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="A")
    with pytest.raises(sqs.exceptions.ClientError, match="DelaySeconds"):
        sqs.send_message(QueueUrl=url, MessageBody="x", MessageGroupId="A", MessageDeduplicationId="9",
                         DelaySeconds=5)

    content = sqs.create_queue(QueueName="c.fifo", Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "true"})["QueueUrl"]
    ids = [sqs.send_message(QueueUrl=content, MessageBody=body, MessageGroupId="G")["MessageId"]
           for body in ["same", "same", "other"]]
    assert len(set(ids)) == 3 and _counts(sqs, content) == [2, 0, 0]
    got = sqs.receive_message(QueueUrl=content, MaxNumberOfMessages=10, AttributeNames=["All"])["Messages"]
    assert [m["Body"] for m in got] == ["same", "other"]
    assert all(len(m["Attributes"]["MessageDeduplicationId"]) == 64 for m in got)


def test_fifo_deduplication_window(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="w.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"first {n}", MessageGroupId="G", MessageDeduplicationId=f"d{n}")
    queue = _backend_queue("w.fifo")
    queue._messages[0].sent_timestamp -= 301_000  # d0 was sent more than five minutes ago
    for n in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"again {n}", MessageGroupId="G", MessageDeduplicationId=f"d{n}")
    assert [m.body for m in queue._messages] == ["first 0", "first 1", "first 2", "again 0"]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=2)["Messages"]
    sqs.delete_message_batch(QueueUrl=url, Entries=[
        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(got)])
    # moto only looks at messages still in the queue: d1 is gone, d2 is not.
    for n in (1, 2):
        sqs.send_message(QueueUrl=url, MessageBody=f"third {n}", MessageGroupId="G", MessageDeduplicationId=f"d{n}")
    assert [m.body for m in queue._messages] == ["first 2", "again 0", "third 1"]
    sqs.purge_queue(QueueUrl=url)
    sqs.send_message(QueueUrl=url, MessageBody="after purge", MessageGroupId="G", MessageDeduplicationId="d2")
    assert [m.body for m in queue._messages] == ["after purge"]


def test_fifo_redrive_leaves_the_deduplication_id_free(sqs: Any) -> None:
    dlq = sqs.create_queue(QueueName="dead.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(QueueName="q.fifo", Attributes={
        "FifoQueue": "true",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 1})})["QueueUrl"]
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=body, MessageDeduplicationId=body)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)["Messages"]
    sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=got[0]["ReceiptHandle"], VisibilityTimeout=0)
    again = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in again] == ["b"]
    for body in ("a", "b"):
        sqs.send_message(QueueUrl=url, MessageBody=f"{body} again", MessageGroupId=body,
                         MessageDeduplicationId=body)
    assert [m.body for m in _backend_queue("q.fifo")._messages] == ["b", "a again"]
    assert [m.body for m in _backend_queue("dead.fifo")._messages] == ["a"]


def test_delays_retention_and_long_polling(sqs: Any) -> None:
    url = sqs.create_queue(QueueName="q", Attributes={"DelaySeconds": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=url, MessageBody="queue delay")
    sqs.send_message(QueueUrl=url, MessageBody="no delay", DelaySeconds=0)
    assert _counts(sqs, url) == [1, 0, 1]
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert [m["Body"] for m in got] == ["no delay"]

    old = sqs.create_queue(QueueName="old", Attributes={"MessageRetentionPeriod": "60"})["QueueUrl"]
    sqs.send_message(QueueUrl=old, MessageBody="expired")
    sqs.send_message(QueueUrl=old, MessageBody="fresh")
    _backend_queue("old")._messages[0].sent_timestamp -= 61_000
    # moto marks the expired message received, stops there and returns nothing.
    assert "Messages" not in sqs.receive_message(QueueUrl=old, MaxNumberOfMessages=10, VisibilityTimeout=60)
    assert _counts(sqs, old) == [1, 1, 0]

    empty = sqs.create_queue(QueueName="empty")["QueueUrl"]
    sender = threading.Timer(0.3, lambda: sqs.send_message(QueueUrl=empty, MessageBody="woke"))
    sender.start()
    try:
        got = sqs.receive_message(QueueUrl=empty, MaxNumberOfMessages=10, WaitTimeSeconds=5)["Messages"]
    finally:
        sender.join()
    assert [m["Body"] for m in got] == ["woke"]


def test_receipt_handles_are_moto_s_own_draws(sqs: Any) -> None:
    # moto's random generator is seedable (its API's seed): seeded, a receive gives the handles
    # moto's own generate_receipt_handle draws, in order.
    from moto.moto_api._internal import mock_random
    from moto.sqs.utils import generate_receipt_handle

    url = sqs.create_queue(QueueName="handles")["QueueUrl"]
    for n in range(10):
        sqs.send_message(QueueUrl=url, MessageBody=str(n))
    mock_random.seed(7)
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=60)["Messages"]
    mock_random.seed(7)
    assert [m["ReceiptHandle"] for m in got] == [generate_receipt_handle() for _ in range(10)]


@pytest.mark.parametrize("seed", [1, 7, 2024])
def test_a_receipt_handle_leaves_the_generator_as_moto_leaves_it(seed: int) -> None:
    from moto.moto_api._internal import mock_random
    from moto.sqs.utils import generate_receipt_handle

    from flowfn.local.moto_patches.sqs import generate_receipt_handle as fixed

    mock_random.seed(seed)
    shipped = [generate_receipt_handle() for _ in range(300)], mock_random.getstate()
    mock_random.seed(seed)
    assert ([fixed() for _ in range(300)], mock_random.getstate()) == shipped


def test_fixes_apply_only_to_the_moto_they_were_written_for() -> None:
    from moto.sqs import models

    if moto_patches.active():
        pytest.skip("an embedded emulator of this process has the fixes installed")
    def current() -> tuple[Any, ...]:
        return (models.SQSBackend.receive_message, models.Queue.delete_message, models.unix_time,
                models.Queue.__dict__["approximate_number_of_messages"])

    before = current()
    try:
        assert moto_patches.install(version=(5, 3, 0)) == []
        assert moto_patches.install(version=(4, 2, 14)) == []
        assert current() == before
        moto_patches.uninstall()
        names = moto_patches.install(version=(5, 2, 5))
        assert names == [p.name for p in moto_patches.PATCHES]
        assert models.SQSBackend.receive_message is moto_patches.sqs.receive_message
        assert models.Queue.__dict__["approximate_number_of_messages"].fget is moto_patches.sqs.count_visible
    finally:
        moto_patches.uninstall()
    assert current() == before
    assert moto_patches.active() == []


def test_the_embedded_emulator_runs_with_the_fixes_and_restores_moto() -> None:
    from moto.sqs import models

    if EmbeddedMoto.shared() or moto_patches.active():
        pytest.skip("another embedded emulator runs in this process")
    original = models.SQSBackend.receive_message
    emulator = EmbeddedMoto()
    emulator.start()
    try:
        assert models.SQSBackend.receive_message is moto_patches.sqs.receive_message
        assert "Queue.delete_message" in moto_patches.active()
    finally:
        emulator.stop()
    assert models.SQSBackend.receive_message is original


def test_server_finds_the_same_backend_for_each_host() -> None:
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    if moto_patches.active():
        pytest.skip("an embedded emulator of this process has the fixes installed")
    hosts = [None, "moto_api", "sqs", "sqs.us-east-1.amazonaws.com", "s3.eu-west-1.amazonaws.com",
             "s3control", "dynamodbstreams", "nothing.example"]

    def resolve() -> list[Any]:
        dispatcher = DomainDispatcherApplication(create_backend_app)
        return [dispatcher.get_backend_for_host(host) for host in hosts * 2]

    shipped = resolve()
    assert shipped[:4] == [None, "moto_api", "sqs", "sqs"] and shipped[-1] is None
    moto_patches.install()
    try:
        assert resolve() == shipped
    finally:
        moto_patches.uninstall()


def test_moto_reads_service_models_through_one_loader() -> None:
    from moto.core import utils

    if moto_patches.active():
        pytest.skip("an embedded emulator of this process has the fixes installed")
    assert utils.create_loader() is not utils.create_loader()  # moto as shipped: a loader per model
    shipped = utils.create_loader().load_service_model("sqs", "service-2")
    moto_patches.install()
    try:
        loader = utils.create_loader()
        assert utils.create_loader() is loader
        assert loader.load_service_model("sqs", "service-2") == shipped  # moto's extras applied alike
    finally:
        moto_patches.uninstall()
    assert utils.create_loader() is not loader


def test_clients_and_moto_share_one_botocore_loader() -> None:
    from moto.core.base_backend import AccountSpecificBackend

    from flowfn.local.emulator import AwsTarget, data_loader, handler_session

    emulator = EmbeddedMoto()
    emulator.start()
    try:
        flowfn_client = AwsTarget(emulator.endpoint_url).client("s3")
        handlers_client = handler_session().client("sqs", region_name="us-east-1",
                                                   endpoint_url=emulator.endpoint_url)
        loaders = {id(flowfn_client._loader), id(handlers_client._loader),
                   id(AccountSpecificBackend.get_session()._session.get_component("data_loader"))}
        assert loaders == {id(data_loader())}
    finally:
        emulator.stop()
