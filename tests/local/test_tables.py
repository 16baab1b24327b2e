"""Tables locally, through flowfn.testing: indexes queried under the function's policy."""

from __future__ import annotations

import boto3
from botocore.exceptions import ClientError

from flowfn import App, Index, Table
from flowfn.testing import run_app


def _indexed_app() -> App:
    app = App("indexed")
    orders = Table("orders", key="pk", indexes=[Index("by_customer", key="customer", sort_key=("at", "N"))])
    plain = Table("plain", key="pk")

    def query() -> list[int]:
        found = boto3.client("dynamodb").query(
            TableName=orders.name, IndexName="by_customer", KeyConditionExpression="customer = :c",
            ExpressionAttributeValues={":c": {"S": "ann"}})
        return [int(item["at"]["N"]) for item in found["Items"]]

    @app.on_schedule("rate(1 day)", enabled=False, uses=[orders.read()])
    def granted() -> list[int]:
        return query()

    @app.on_schedule("rate(1 day)", enabled=False, uses=[orders.write(), plain.read()])
    def not_granted() -> list[int]:
        return query()

    return app


def test_a_handler_queries_an_index_with_read_and_is_denied_without() -> None:
    with run_app(_indexed_app()) as h:
        for pk, customer, at in (("o1", "ann", 3), ("o2", "bob", 1), ("o3", "ann", 2)):
            h.put_item("orders", {"pk": pk, "customer": customer, "at": at})
        allowed = h.fire("granted")
        denied = h.fire("not_granted")
    assert allowed.ok, allowed.error
    assert allowed.result == [2, 3]
    assert isinstance(denied.error, ClientError)
    assert denied.error.response["Error"]["Code"] == "AccessDeniedException"
    assert ('dynamodb:Query on resource: "arn:aws:dynamodb:us-east-1:123456789012:table/orders/index/'
            'by_customer"') in str(denied.error)
    assert "Fix: add uses=[orders.read()] to handler 'not_granted'" in str(denied.error)
