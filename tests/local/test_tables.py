"""Tables locally, through flowfn.testing: indexes queried under the function's policy, and stream
triggers on a table flowfn does not create."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

from flowfn import App, DynamoDbRecord, Index, Table
from flowfn.testing import run_app

#: What the user declares: the real stream's ARN in their account, which the emulator never has.
REAL_STREAM = "arn:aws:dynamodb:eu-west-1:210987654321:table/their-orders/stream/2024-03-01T10:20:30.456"


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

    @app.on_schedule("rate(1 day)", enabled=False, uses=[orders.read()])
    def undeclared() -> None:
        boto3.client("dynamodb").get_item(TableName="elsewhere", Key={"pk": {"S": "a"}})

    return app


def test_a_handler_queries_an_index_with_read_and_is_denied_without() -> None:
    with run_app(_indexed_app()) as h:
        for pk, customer, at in (("o1", "ann", 3), ("o2", "bob", 1), ("o3", "ann", 2)):
            h.put_item("orders", {"pk": pk, "customer": customer, "at": at})
        allowed = h.fire("granted")
        denied = h.fire("not_granted")
        elsewhere = h.fire("undeclared")
    assert allowed.ok, allowed.error
    assert allowed.result == [2, 3]
    assert isinstance(denied.error, ClientError)
    assert denied.error.response["Error"]["Code"] == "AccessDeniedException"
    assert ('dynamodb:Query on resource: "arn:aws:dynamodb:us-east-1:123456789012:table/orders/index/'
            'by_customer"') in str(denied.error)
    assert "Fix: add uses=[orders.read()] to handler 'not_granted'" in str(denied.error)
    assert ("Fix: table 'elsewhere' is not declared: declare it (Table('elsewhere', existing='elsewhere') "
            "for a table made elsewhere) and add it to uses=[...] of handler 'undeclared'") in str(elsewhere.error)


def _existing_app() -> App:
    app = App("existing")
    ext = Table("ext", existing="their-orders", key="pk", stream="new_and_old_images", stream_arn=REAL_STREAM)

    @app.on_dynamodb_stream(ext, starting_position="trim_horizon")
    def on_change(record: DynamoDbRecord) -> None:
        pass

    return app


def test_a_stream_trigger_on_an_existing_table_gets_its_inserts_modifies_and_removes() -> None:
    with run_app(_existing_app()) as h:
        assert h.table_name("ext") == "their-orders"
        h.put_item("ext", {"pk": "a", "n": 1})
        h.put_item("ext", {"pk": "a", "n": 2})
        h.client("dynamodb").delete_item(TableName="their-orders", Key={"pk": {"S": "a"}})
        h.drain()
        assert not h.failures()
        records = [r for inv in h.invocations("on_change") for r in inv.event["Records"]]
        local_stream = h.local.bindings.arns[("table", "ext")]
    assert [r["eventName"] for r in records] == ["INSERT", "MODIFY", "REMOVE"]
    assert records[1]["dynamodb"]["OldImage"] == {"pk": {"S": "a"}, "n": {"N": "1"}}
    assert records[1]["dynamodb"]["NewImage"] == {"pk": {"S": "a"}, "n": {"N": "2"}}
    # Read from the emulator's stream of the table, not from the account the ARN names.
    assert local_stream.startswith("arn:aws:dynamodb:us-east-1:123456789012:table/their-orders/stream/")
    assert {r["eventSourceARN"] for r in records} == {local_stream}


RELOADED = """
import boto3

from flowfn import App, Index, Table

app = App("reloaded")
orders = Table("orders", key="pk", sort_key="sk"{indexes})


@app.on_schedule("rate(1 day)", enabled=False, uses=[orders.read()])
def by_customer():
    found = boto3.client("dynamodb").query(
        TableName=orders.name, IndexName="by_customer", KeyConditionExpression="customer = :c",
        ExpressionAttributeValues={{":c": {{"S": "ann"}}}})
    return sorted(item["pk"]["S"] for item in found["Items"])
"""


def test_a_global_index_declared_while_running_is_added_on_reload_a_local_one_is_warned_about(
    tmp_path: Path, caplog: pytest.LogCaptureFixture,
) -> None:
    module = tmp_path / "reloaded.py"
    module.write_text(RELOADED.format(indexes=""))
    with run_app(str(module)) as h:
        h.put_item("orders", {"pk": "o1", "sk": "a", "customer": "ann"})
        assert not h.fire("by_customer").ok  # no index declared: read() covers none
        module.write_text(RELOADED.format(indexes=', indexes=[Index("by_customer", key="customer")]'))
        h.local.reload()
        h.put_item("orders", {"pk": "o2", "sk": "a", "customer": "ann"})
        assert h.fire("by_customer").result == ["o1", "o2"]
        module.write_text(RELOADED.format(indexes=', indexes=[Index("by_customer", key="customer")], '
                                                  'local_indexes=[Index("by_at", sort_key="at")]'))
        h.local.reload()
        assert h.fire("by_customer").ok
    assert ("table 'orders' in the emulator has no local index 'by_at', and DynamoDB adds local indexes only "
            "when it creates a table; queries of it fail until run-local restarts") in caplog.text


STREAMED = """
from flowfn import App, Table

app = App("streamed")
orders = Table("orders", key="pk"{stream})
SEEN = []


@app.on_schedule("rate(1 day)", enabled=False, uses=[orders.write()])
def idle():
    pass
{trigger}
"""

TRIGGER = """

@app.on_dynamodb_stream(orders, starting_position="trim_horizon")
def on_change(record):
    SEEN.append(record.event_name)
"""


def test_a_stream_declared_while_running_is_turned_on_at_reload(tmp_path: Path) -> None:
    module = tmp_path / "streamed.py"
    module.write_text(STREAMED.format(stream="", trigger=""))
    with run_app(str(module)) as h:
        h.put_item("orders", {"pk": "before"})
        module.write_text(STREAMED.format(stream=", stream=True", trigger=TRIGGER))
        h.local.reload()
        h.put_item("orders", {"pk": "after"})
        h.drain()
        keys = [r["dynamodb"]["Keys"] for inv in h.invocations("on_change") for r in inv.event["Records"]]
    assert keys == [{"pk": {"S": "after"}}]


def _transacted_app() -> App:
    app = App("transacted")
    orders = Table("orders", key="pk", sort_key=("at", "N"), stream=True)

    @app.on_schedule("rate(1 day)", enabled=False, uses=[orders.write()])
    def place() -> str:
        ddb = boto3.client("dynamodb")
        ddb.put_item(TableName=orders.name, Item={"pk": {"S": "a"}, "at": {"N": "1"}})
        ddb.transact_write_items(TransactItems=[
            {"Put": {"TableName": orders.name, "Item": {"pk": {"S": "b"}, "at": {"N": "1"}}}},
            {"Update": {"TableName": orders.name, "Key": {"pk": {"S": "a"}, "at": {"N": "1"}},
                        "UpdateExpression": "SET n = :n", "ExpressionAttributeValues": {":n": {"N": "2"}}}},
        ])
        try:  # a cancelled transaction is rolled back, and the table keeps working
            ddb.transact_write_items(TransactItems=[
                {"Put": {"TableName": orders.name, "Item": {"pk": {"S": "c"}, "at": {"N": "1"}}}},
                {"ConditionCheck": {"TableName": orders.name, "Key": {"pk": {"S": "a"}, "at": {"N": "1"}},
                                    "ConditionExpression": "attribute_not_exists(pk)"}},
            ])
        except ddb.exceptions.TransactionCanceledException:
            return "cancelled"
        return "applied"

    @app.on_dynamodb_stream(orders, starting_position="trim_horizon")
    def on_change(record: DynamoDbRecord) -> None:
        pass

    return app


def test_transactions_on_a_table_with_a_stream_are_applied_and_reach_its_trigger() -> None:
    with run_app(_transacted_app()) as h:
        placed = h.fire("place")
        h.put_item("orders", {"pk": "d", "at": 1})
        h.drain()
        changes = [(r["eventName"], r["dynamodb"]["Keys"]["pk"]["S"])
                   for inv in h.invocations("on_change") for r in inv.event["Records"]]
        assert h.get_item("orders", {"pk": "c", "at": 1}) is None
    assert placed.ok, placed.error
    assert placed.result == "cancelled"
    assert changes == [("INSERT", "a"), ("INSERT", "b"), ("MODIFY", "a"), ("INSERT", "d")]


def test_the_harness_writes_floats_as_the_numbers_they_print_as() -> None:
    from decimal import Decimal

    app = App("floats")
    prices = Table("prices", key=("at", "N"))

    @app.on_schedule("rate(1 day)", enabled=False, uses=[prices.read()])
    def idle() -> None:
        pass

    with run_app(app) as h:
        h.put_item(prices, {"at": 1.5, "price": 9.99, "history": [0.1, {"low": 2.5}], "sizes": {0.5, 1}})
        item = h.get_item(prices, {"at": 1.5})
    assert item == {"at": Decimal("1.5"), "price": Decimal("9.99"),
                    "history": [Decimal("0.1"), {"low": Decimal("2.5")}], "sizes": {Decimal("0.5"), Decimal(1)}}
