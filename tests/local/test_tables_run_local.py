"""`flowfn run-local` as a subprocess with tables: a handler queries an index under its policy, and
a stream trigger on a table flowfn does not create receives the table's changes."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import boto3

from .test_mirror import StopApp, stopapp, wait_for

__all__ = ["stopapp"]  # the fixture, used by name

APP = """
from pathlib import Path

import boto3

from flowfn import App, Index, Table

app = App("tables")
orders = Table("orders", key="pk", indexes=[Index("by_customer", key="customer", projection="keys_only")])
ext = Table("ext", existing="their-orders", key="pk", stream="new_and_old_images",
            stream_arn="arn:aws:dynamodb:eu-west-1:210987654321:table/their-orders/stream/2024-03-01T10:20:30.456")
SEEN = Path(__file__).with_name("seen.txt")


@app.on_http("GET", "/customers/{customer}", uses=[orders.read()])
def by_customer(request):
    found = boto3.client("dynamodb").query(
        TableName=orders.name, IndexName="by_customer", KeyConditionExpression="customer = :c",
        ExpressionAttributeValues={":c": {"S": request.path_params["customer"]}})
    return sorted(item["pk"]["S"] for item in found["Items"])


@app.on_dynamodb_stream(ext, starting_position="trim_horizon")
def on_change(record):
    with SEEN.open("a") as out:
        out.write(record.event_name + "\\n")
"""


def _seen(path: Path) -> list[str]:
    return path.read_text().split() if path.exists() else []


def test_run_local_serves_an_index_query_and_an_existing_tables_stream(stopapp: Any, tmp_path: Path) -> None:
    app = tmp_path / "tables.py"
    app.write_text(APP)
    run: StopApp = stopapp(app, "tables")
    ddb = boto3.client("dynamodb", endpoint_url=run.run_state["endpoint_url"], region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    for pk, customer in (("o1", "ann"), ("o2", "bob"), ("o3", "ann")):
        ddb.put_item(TableName="orders", Item={"pk": {"S": pk}, "customer": {"S": customer}})
    with urllib.request.urlopen(run.run_state["http_url"] + "/customers/ann", timeout=30) as response:
        assert json.loads(response.read()) == ["o1", "o3"]
    ddb.put_item(TableName="their-orders", Item={"pk": {"S": "a"}, "n": {"N": "1"}})
    ddb.put_item(TableName="their-orders", Item={"pk": {"S": "a"}, "n": {"N": "2"}})
    ddb.delete_item(TableName="their-orders", Key={"pk": {"S": "a"}})
    seen = tmp_path / "seen.txt"
    wait_for(lambda: len(_seen(seen)) >= 3, 30, "the three changes")
    assert run.stop() == 0
    assert _seen(seen) == ["INSERT", "MODIFY", "REMOVE"]
    outcomes = {(s["function"], s["trigger"], s["outcome"]) for s in run.seen}
    assert outcomes == {("by_customer", "http", "ok"), ("on_change", "dynamodb", "ok")}
