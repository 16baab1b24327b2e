"""Events built on this machine equal the ones AWS delivers, through flowfn's public surfaces:
``flowfn.testing`` (the machinery of run-local) and the ``flowfn events`` command.

Every event captured from a running app and every event ``flowfn events`` can print is checked
against Powertools' parser models, which are written from events captured on AWS.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools.utilities.parser.models import (
    APIGatewayProxyEventV2Model,
    EventBridgeModel,
    S3Model,
    SqsModel,
)
from pydantic import BaseModel
from typer.testing import CliRunner

from flowfn import App, Bucket, Queue
from flowfn.cli import cli
from flowfn.testing import Harness, run_app
from flowfn.triggers.s3 import S3_EVENT_ALIASES, S3_EVENT_TYPES
from flowfn.triggers.sqs import message_attributes_md5

runner = CliRunner()
MODELS: dict[str, type[BaseModel]] = {
    "s3": S3Model, "sqs": SqsModel, "schedule": EventBridgeModel, "http": APIGatewayProxyEventV2Model,
}

app = App("parity")
uploads = Bucket("uploads")
jobs = Queue("jobs")
orders = Queue("orders.fifo")


@app.on_s3(uploads, events=["created", "removed"])
def on_object(record: Any, context: Any) -> None:
    """Every created or removed object."""


@app.on_s3(uploads, events=["tagged", "s3:ObjectAcl:Put", "s3:ObjectRestore:*"])
def on_metadata(record: Any, context: Any) -> None:
    """Tags, ACLs and restores (events S3 sends without a write of the object)."""


@app.on_s3(uploads, events=["s3:IntelligentTiering", "s3:LifecycleTransition"])
def on_storage_class(record: Any, context: Any) -> list[Any]:
    """Storage changes S3 makes itself."""
    return [record.object_key, record.size, record.etag]


@app.on_sqs(jobs)
def on_job(record: Any, context: Any) -> None:
    """Standard queue."""


@app.on_sqs(orders)
def on_order(record: Any, context: Any) -> None:
    """FIFO queue."""


@app.on_schedule("rate(1 hour)")
def hourly(event: Any) -> None:
    """A schedule."""


@app.on_http("GET", "/items/{item_id}")
def get_item(request: Any) -> dict[str, Any]:
    return {"path": request.path, "item_id": request.path_params["item_id"]}


@app.on_http("ANY", "/files/{key+}")
def files(request: Any) -> dict[str, Any]:
    return {"path": request.path, "key": request.path_params["key"]}


@pytest.fixture(scope="module")
def running() -> Iterator[Harness]:
    with run_app(app, http=True) as harness:
        yield harness


@pytest.fixture
def h(running: Harness) -> Harness:
    running.drain()
    running.clear()
    return running


def events_cli(*args: str) -> dict[str, Any]:
    result = runner.invoke(cli, ["events", *args])
    assert result.exit_code == 0, result.output
    event: dict[str, Any] = json.loads(result.stdout)
    return event


def names(h: Harness, function: str) -> list[str]:
    return [r["eventName"] for i in h.invocations(function) for r in i.event["Records"]]


# -- S3 ------------------------------------------------------------------------------------------

FIVE_MIB = 5 * 1024 * 1024


def test_a_multipart_upload_invokes_the_handler_once_as_complete_multipart_upload(h: Harness) -> None:
    s3 = h.client("s3")
    bucket = h.bucket_name("uploads")
    started = s3.create_multipart_upload(Bucket=bucket, Key="big/video.bin")
    parts = []
    for number, body in ((1, b"a" * FIVE_MIB), (2, b"tail")):  # all parts but the last >= 5 MiB
        etag = s3.upload_part(Bucket=bucket, Key="big/video.bin", UploadId=started["UploadId"],
                              PartNumber=number, Body=body)["ETag"]
        parts.append({"ETag": etag, "PartNumber": number})
    s3.complete_multipart_upload(Bucket=bucket, Key="big/video.bin", UploadId=started["UploadId"],
                                 MultipartUpload={"Parts": parts})
    h.drain()
    assert names(h, "on_object") == ["ObjectCreated:CompleteMultipartUpload"]
    assert names(h, "on_metadata") == []  # no tags were put: S3 sends no ObjectTagging event
    record = h.invocations("on_object")[0].event["Records"][0]
    assert record["s3"]["object"]["size"] == FIVE_MIB + 4
    assert record["s3"]["object"]["eTag"].endswith("-2")
    S3Model.model_validate(h.invocations("on_object")[0].event)


def test_tagging_an_object_after_a_multipart_upload_still_notifies(h: Harness) -> None:
    s3 = h.client("s3")
    bucket = h.bucket_name("uploads")
    started = s3.create_multipart_upload(Bucket=bucket, Key="big/one.bin")
    etag = s3.upload_part(Bucket=bucket, Key="big/one.bin", UploadId=started["UploadId"], PartNumber=1,
                          Body=b"only part")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="big/one.bin", UploadId=started["UploadId"],
                                 MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": 1}]})
    s3.put_object_tagging(Bucket=bucket, Key="big/one.bin",
                          Tagging={"TagSet": [{"Key": "k", "Value": "v"}]})
    h.drain()
    assert names(h, "on_object") == ["ObjectCreated:CompleteMultipartUpload"]
    assert names(h, "on_metadata") == ["ObjectTagging:Put"]
    tagged = h.invocations("on_metadata")[0].event
    assert tagged["Records"][0]["eventVersion"] == "2.3"
    S3Model.model_validate(tagged)


def test_a_plain_put_still_arrives_as_put(h: Harness) -> None:
    h.upload("uploads", "small/a b+c.txt", b"hello")
    h.drain()
    assert names(h, "on_object") == ["ObjectCreated:Put"]
    record = h.invocations("on_object")[0].event["Records"][0]
    assert record["s3"]["object"]["key"] == "small/a+b%2Bc.txt"


#: S3 event names as S3 sends them (no wildcards; the list of supported event types).
CONCRETE = sorted(e.removeprefix("s3:") for e in S3_EVENT_TYPES if not e.endswith("*"))


def _version(name: str) -> str:
    # S3 User Guide, "Event message structure": 2.2 for replication; 2.3 for lifecycle,
    # Intelligent-Tiering, object ACL, object tagging and object restoration delete events.
    if name.startswith("Replication:"):
        return "2.2"
    if name.startswith(("LifecycleExpiration:", "LifecycleTransition", "IntelligentTiering",
                        "ObjectAcl:", "ObjectTagging:")) or name == "ObjectRestore:Delete":
        return "2.3"
    return "2.1"


@pytest.mark.parametrize("offered", sorted(S3_EVENT_TYPES) + sorted(S3_EVENT_ALIASES))
def test_events_s3_prints_every_offered_name_as_s3_sends_it(offered: str) -> None:
    event = events_cli("s3", "--bucket", "photos", "--key", "a/b.jpg", "--event", offered)
    S3Model.model_validate(event)
    record = event["Records"][0]
    name = record["eventName"]
    assert name in CONCRETE, f"{offered} gave {name}, an event S3 never sends"
    assert record["eventVersion"] == _version(name)
    body = record["s3"].get("get_object") if name == "IntelligentTiering" else record["s3"]["object"]
    assert body is not None and body["key"] == "a/b.jpg"
    extra = {k for k in record if k.endswith("EventData")}
    expected = {
        "ObjectRestore:Completed": {"glacierEventData"}, "IntelligentTiering": {"intelligentTieringEventData"},
        "LifecycleTransition": {"lifecycleEventData"},
    }.get(name, {"replicationEventData"} if name.startswith("Replication:") else set())
    assert extra == expected
    if name == "ObjectRestore:Completed":
        restore = record["glacierEventData"]["restoreEventData"]
        assert restore["lifecycleRestoreStorageClass"] and restore["lifecycleRestorationExpiryTime"]
    if name.startswith(("Replication:", "Lifecycle", "IntelligentTiering")):
        assert record["userIdentity"]["principalId"] == "s3.amazonaws.com"
        assert record["requestParameters"]["sourceIPAddress"] == "s3.amazonaws.com"


@pytest.mark.parametrize("name", ["s3:IntelligentTiering", "s3:LifecycleTransition"])
def test_a_printed_storage_event_reaches_the_handler_with_its_object(h: Harness, name: str) -> None:
    event = events_cli("s3", "--bucket", h.bucket_name("uploads"), "--key", "cold/a+b.bin", "--event", name,
                       "--size", "42")
    invocation = h.invoke("on_storage_class", event)
    assert invocation.ok, invocation.error
    assert invocation.result[0] == "cold/a b.bin" and invocation.result[1] == 42 and invocation.result[2]


def test_events_s3_refuses_names_s3_never_sends() -> None:
    result = runner.invoke(cli, ["events", "s3", "--event", "s3:Replication:Delete"])
    assert result.exit_code == 1 and "not an S3 event type" in result.stderr


@pytest.mark.parametrize(("given", "in_event"), [
    ("photos/my%20cat.jpg", "photos/my+cat.jpg"),
    ("photos/my+cat.jpg", "photos/my+cat.jpg"),
    ("photos/a%2Bb.jpg", "photos/a%2Bb.jpg"),
    ("photos/plain name.jpg", "photos/plain+name.jpg"),
])
def test_events_s3_key_given_url_encoded_is_not_encoded_again(given: str, in_event: str) -> None:
    event = events_cli("s3", "--key", given)
    assert event["Records"][0]["s3"]["object"]["key"] == in_event


# -- HTTP ----------------------------------------------------------------------------------------

# What an HTTP API delivers for a path sent percent-encoded (captured on AWS, payload 2.0, $default
# stage): rawPath and requestContext.http.path both hold it decoded; a decoded '?' ends it; what is
# still percent-encoded after one decoding is decoded again; a path that fails that is refused 400.
PATHS = [
    ("/items/plain", "/items/plain", "plain"),
    ("/items/space%20value", "/items/space value", "space value"),
    ("/items/question%3Fvalue", "/items/question", "question"),
    ("/items/hash%23value", "/items/hash#value", "hash#value"),
    ("/items/unicode-%CE%BB", "/items/unicode-λ", "unicode-λ"),
    ("/items/literal%253Fvalue", "/items/literal?value", "literal?value"),
    ("/items/literal%2525value", "/items/literal%value", "literal%value"),
    ("/files/slash%2Fvalue", "/files/slash/value", "slash/value"),
    ("/files/literal%252Fvalue", "/files/literal/value", "literal/value"),
]


@pytest.mark.parametrize(("sent", "delivered", "param"), PATHS)
def test_http_events_carry_the_path_as_api_gateway_does(h: Harness, sent: str, delivered: str,
                                                         param: str) -> None:
    result = h.get(sent + "?q=1")
    assert result.status == 200, result.text
    assert result.json()["path"] == delivered  # request.path, as deployed
    event = result.invocation.event if result.invocation else {}
    assert event["rawPath"] == delivered
    assert event["requestContext"]["http"]["path"] == delivered
    assert list(event["pathParameters"].values()) == [param]
    assert event["rawQueryString"] == "q=1"
    APIGatewayProxyEventV2Model.model_validate(event)
    route = "GET /items/{item_id}" if sent.startswith("/items") else "GET /files/{key+}"
    printed = events_cli("http", "--path", sent, "--route", route)
    assert printed["rawPath"] == event["rawPath"]
    assert printed["requestContext"]["http"]["path"] == delivered
    assert printed["pathParameters"] == event["pathParameters"]


def test_run_local_serves_the_path_as_api_gateway_delivers_it(h: Harness) -> None:
    with urllib.request.urlopen(f"{h.http_url}/files/a%20b%2Fc%3Fd?x=1", timeout=10) as response:
        assert json.load(response) == {"path": "/files/a b/c", "key": "a b/c"}
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{h.http_url}/items/percent%25done", timeout=10)
    refused.value.close()
    assert refused.value.code == 400


def test_http_api_refuses_a_path_that_does_not_decode(h: Harness) -> None:
    result = h.get("/items/percent%25done")
    assert result.status == 400 and result.invocation is None
    printed = runner.invoke(cli, ["events", "http", "--path", "/items/percent%25done"])
    assert printed.exit_code == 1 and "400" in printed.stderr


def test_events_http_joins_repeated_headers_with_commas() -> None:
    event = events_cli("http", "--path", "/x", "--header", "X-Probe: first", "--header", "x-probe: second",
                       "--header", "Accept: */*")
    assert event["headers"]["x-probe"] == "first,second"
    assert event["headers"]["accept"] == "*/*"
    APIGatewayProxyEventV2Model.model_validate(event)


# -- SQS -----------------------------------------------------------------------------------------


def test_events_sqs_carries_the_attributes_md5_sqs_computes(h: Harness) -> None:
    h.send("jobs", "hello", attributes={"kind": "test", "tenant": "ü"})
    h.drain()
    delivered = h.invocations("on_job")[0].event["Records"][0]
    printed = events_cli("sqs", "--queue", "jobs", "--body", "hello", "--attribute", "kind=test",
                         "--attribute", "tenant=ü")["Records"][0]
    assert printed["md5OfMessageAttributes"] == delivered["md5OfMessageAttributes"]
    assert printed["md5OfBody"] == delivered["md5OfBody"]
    plain = events_cli("sqs", "--body", "hello")["Records"][0]
    assert "md5OfMessageAttributes" not in plain


def test_the_attributes_md5_is_sqs_own_for_every_attribute_type(h: Harness) -> None:
    attributes = {
        "b-binary": {"DataType": "Binary", "BinaryValue": b"\x00\xffbytes"},
        "a-number": {"DataType": "Number", "StringValue": "42.5"},
        "c-custom": {"DataType": "String.Kind", "StringValue": "λ"},
    }
    sent = h.client("sqs").send_message(QueueUrl=h.queue_url("jobs"), MessageBody="x",
                                        MessageAttributes=attributes)
    h.drain()
    delivered = h.invocations("on_job")[0].event["Records"][0]
    assert message_attributes_md5(attributes) == sent["MD5OfMessageAttributes"]
    assert delivered["md5OfMessageAttributes"] == sent["MD5OfMessageAttributes"]


def test_events_sqs_fifo_sequence_numbers_are_unique_increasing_and_20_digits() -> None:
    records = events_cli("sqs", "--queue", "orders.fifo", "--body", "a", "--body", "b", "--body", "c",
                         "--time", "2025-01-01T00:00:00Z")["Records"]
    numbers = [r["attributes"]["SequenceNumber"] for r in records]
    assert all(len(n) == 20 and n.isdigit() for n in numbers), numbers
    assert [int(n) for n in numbers] == sorted({int(n) for n in numbers})
    SqsModel.model_validate({"Records": records})


# -- every event, against Powertools' models ---------------------------------------------------------

PRINTED = [
    ["s3"], ["s3", "--event", "removed", "--key", "a%20b/c.txt"], ["sqs"],
    ["sqs", "--queue", "q.fifo", "--body", "1", "--body", "2", "--attribute", "a=b"],
    ["schedule", "--rule", "nightly"], ["http"],
    ["http", "--method", "POST", "--path", "/items/9?x=1&x=2", "--route", "POST /items/{id}", "--body",
     "{\"a\": 1}", "--header", "Cookie: a=1; b=2", "--header", "Content-Type: application/json"],
    ["http", "--method", "PUT", "--path", "/f", "--body", "raw", "--header", "content-type: image/png"],
]


@pytest.mark.parametrize("args", PRINTED, ids=lambda args: " ".join(args))
def test_every_printed_event_passes_powertools(args: list[str]) -> None:
    MODELS[args[0]].model_validate(events_cli(*args))


def test_every_event_a_running_app_delivers_passes_powertools(h: Harness) -> None:
    s3 = h.client("s3")
    bucket = h.bucket_name("uploads")
    h.upload("uploads", "docs/report 1.txt", "report")
    s3.copy_object(Bucket=bucket, Key="docs/copy.txt", CopySource={"Bucket": bucket, "Key": "docs/report 1.txt"})
    s3.put_object_tagging(Bucket=bucket, Key="docs/copy.txt", Tagging={"TagSet": [{"Key": "a", "Value": "b"}]})
    s3.delete_object_tagging(Bucket=bucket, Key="docs/copy.txt")
    s3.put_object_acl(Bucket=bucket, Key="docs/copy.txt", ACL="private")
    h.delete("uploads", "docs/copy.txt")
    h.send("jobs", {"n": 1}, attributes={"kind": "json"})
    h.send("orders.fifo", "first", group_id="g", dedup_id="1")
    h.send("orders.fifo", "second", group_id="g", dedup_id="2")
    h.fire("hourly")
    h.get("/items/7?q=a+b&q=c", headers={"Cookie": "a=1; b=2"})
    h.post("/files/a/b.txt", json={"x": 1})
    h.request("PUT", "/files/img.png", body=b"\x89PNG\x00", headers={"content-type": "image/png"})
    h.drain()
    seen: dict[str, list[str]] = {}
    for invocation in h.invocations():
        assert invocation.ok, invocation.error
        MODELS[invocation.trigger].model_validate(invocation.event)
        seen.setdefault(invocation.trigger, []).append(invocation.function)
    # Exactly what S3 sends: no ObjectTagging:Put for the upload, which put no tags.
    assert sorted(names(h, "on_object")) == ["ObjectCreated:Copy", "ObjectCreated:Put", "ObjectRemoved:Delete"]
    assert sorted(names(h, "on_metadata")) == ["ObjectAcl:Put", "ObjectTagging:Delete", "ObjectTagging:Put"]
    assert {"on_job", "on_order"} <= set(seen["sqs"]) and seen["schedule"] == ["hourly"]
    assert sorted(seen["http"]) == ["files", "files", "get_item"]
