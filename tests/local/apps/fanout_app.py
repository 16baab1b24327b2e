"""An app that fans out over SNS and routes over EventBridge, for the local fan-out tests."""

from __future__ import annotations

import json
from typing import Any

import boto3

from flowfn import App, Bucket, EventBridgeEvent, EventBus, Queue, S3Record, SnsRecord, Topic

app = App("fanout")

uploads = Bucket("uploads")
ready = Topic("ready")
orders = EventBus("orders")
indexed = Queue("indexed")
seen: list[tuple[str, Any]] = []


@app.on_s3(uploads, uses=[ready.publish()])
def announce(record: S3Record) -> None:
    boto3.client("sns").publish(TopicArn=ready.arn, Message=json.dumps({"key": record.object_key}),
                                Subject="ready",
                                MessageAttributes={"kind": {"DataType": "String", "StringValue": "image"}})


@app.on_sns(ready, uses=[indexed.send()])
def index(record: SnsRecord) -> None:
    boto3.client("sqs").send_message(QueueUrl=indexed.url, MessageBody=record.message)


@app.on_sns(ready, filter_policy={"kind": ["image"]})
def notify(record: SnsRecord) -> None:
    seen.append(("notify", record.json()))


@app.on_sns(ready, filter_policy={"size": [{"numeric": [">", 100]}], "kind": [{"prefix": "im"}]})
def big_images(record: SnsRecord) -> None:
    seen.append(("big_images", record.message_attributes["size"]["Value"]))


@app.on_sns(ready, filter_policy={"kind": [{"anything-but": ["image", "poison"]}], "tag": [{"exists": True}]})
def other_kinds(record: SnsRecord) -> None:
    seen.append(("other_kinds", record.message))


@app.on_sns(ready, filter_policy={"kind": [{"equals-ignore-case": "AUDIO"}], "tag": [{"suffix": ".mp3"}]})
def audio(record: SnsRecord) -> None:
    seen.append(("audio", record.message))


@app.on_sns(ready, filter_policy={"order": {"total": [{"numeric": [">=", 10]}]}}, filter_scope="body")
def body_filtered(record: SnsRecord) -> None:
    seen.append(("body_filtered", record.json()["order"]["total"]))


@app.on_sns(ready, filter_policy={"kind": ["audio"], "$or": [{"tag": [{"prefix": "hit"}]},
                                                             {"size": [{"numeric": [">", 1000]}]}]})
def either(record: SnsRecord) -> None:
    seen.append(("either", record.message))


failed = Queue("sns-failed", max_receive_count=None)


@app.on_sns(ready, filter_policy={"kind": ["poison"]}, on_failure=failed)
def fails(record: SnsRecord) -> None:
    raise RuntimeError("cannot handle poison")


@app.on_sns(ready, filter_policy={"kind": ["poison"]})
def survives(record: SnsRecord) -> None:
    seen.append(("survives", record.message))


@app.on_sqs(indexed)
def store_index(record: Any) -> None:
    seen.append(("store_index", json.loads(record.body) if record.body.startswith("{") else record.body))


@app.on_event({"source": [{"prefix": "shop."}], "detail-type": ["Order Placed"]}, bus=orders)
def placed(event: EventBridgeEvent) -> None:
    seen.append(("placed", event.detail["id"]))


@app.on_event({"source": ["shop.orders"], "detail": {"total": [{"numeric": [">", 100]}],
                                                    "coupon": [{"exists": False}]}}, bus=orders)
def big_orders(event: EventBridgeEvent) -> None:
    seen.append(("big_orders", event.detail["id"]))


@app.on_event({"source": ["shop.orders"], "detail": {"country": [{"anything-but": ["FR", "DE"]}]}},
              bus=orders)
def abroad(event: EventBridgeEvent) -> None:
    seen.append(("abroad", event.detail["id"]))


@app.on_event({"source": ["shop.orders"], "detail": {"poison": ["yes"]}}, bus=orders, retries=0)
def once(event: EventBridgeEvent) -> None:
    raise RuntimeError("not retried")


@app.on_event({"$or": [{"source": ["billing"]}, {"detail": {"priority": ["high"]}}]})
def urgent(event: EventBridgeEvent) -> None:
    seen.append(("urgent", event.source))


ledger = Queue("ledger.fifo", content_based_deduplication=True)  # the emulator needs it (AWS does not)
app.declare(Topic("entries.fifo", content_based_deduplication=True, queues=[ledger]))


@app.on_sqs(ledger, batch_size=1)
def book(record: Any) -> None:
    seen.append(("book", (record.message_group_id, record.body)))
