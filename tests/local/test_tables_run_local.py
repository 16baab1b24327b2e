"""`flowfn run-local` as a subprocess with tables: a handler queries an index under its policy."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import boto3

from .test_mirror import StopApp, stopapp

__all__ = ["stopapp"]  # the fixture, used by name

APP = """
from pathlib import Path

import boto3

from flowfn import App, Index, Table

app = App("tables")
orders = Table("orders", key="pk", indexes=[Index("by_customer", key="customer", projection="keys_only")])


@app.on_http("GET", "/customers/{customer}", uses=[orders.read()])
def by_customer(request):
    found = boto3.client("dynamodb").query(
        TableName=orders.name, IndexName="by_customer", KeyConditionExpression="customer = :c",
        ExpressionAttributeValues={":c": {"S": request.path_params["customer"]}})
    return sorted(item["pk"]["S"] for item in found["Items"])
"""


def test_run_local_serves_an_index_query(stopapp: Any, tmp_path: Path) -> None:
    app = tmp_path / "tables.py"
    app.write_text(APP)
    run: StopApp = stopapp(app, "tables")
    ddb = boto3.client("dynamodb", endpoint_url=run.run_state["endpoint_url"], region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    for pk, customer in (("o1", "ann"), ("o2", "bob"), ("o3", "ann")):
        ddb.put_item(TableName="orders", Item={"pk": {"S": pk}, "customer": {"S": customer}})
    with urllib.request.urlopen(run.run_state["http_url"] + "/customers/ann", timeout=30) as response:
        assert json.loads(response.read()) == ["o1", "o3"]
    assert run.stop() == 0
    assert {(s["function"], s["trigger"], s["outcome"]) for s in run.seen} == {("by_customer", "http", "ok")}
