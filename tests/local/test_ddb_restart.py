"""`flowfn run-local` as a subprocess with DynamoDB Streams triggers: the changes no mapping has
handled yet at a stop are handled after the restart, each by every mapping exactly once, in order,
with the records' own sequence numbers and creation times; records already handled are not
handled again, and the restarted stream goes on with new records after them."""

from __future__ import annotations

import json
import signal
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.parser.models import DynamoDBStreamModel

from .conftest import wait_for
from .test_mirror import StopApp, stopapp

pytestmark = pytest.mark.slow

__all__ = ["stopapp"]  # the fixture, used by name

APP = """
import json
import time
from pathlib import Path

from flowfn import App, Table

app = App("carry")
orders = Table("orders", key="pk", stream=True)
HERE = Path(__file__).parent


def _note(name, record):
    with (HERE / f"{name}.jsonl").open("a") as out:
        out.write(json.dumps(record.raw) + "\\n")


def _hold(name):
    # Until the test releases it (after the stop has begun), this invocation keeps its shard.
    if not (HERE / "release").exists():
        (HERE / f"{name}.held").touch()
        while not (HERE / "release").exists():
            time.sleep(0.02)


@app.on_dynamodb_stream(orders, batch_size=100)
def audit(record):
    _note("audit", record)
    _hold("audit")  # the first batch: one change


@app.on_dynamodb_stream(orders, batch_size=1)
def count(record):
    _note("count", record)
    if record.keys["pk"] == "hold":
        _hold("count")


@app.on_http("GET", "/ping")
def ping(request):
    return "pong"
"""


def _client(run: StopApp) -> Any:
    return boto3.client("dynamodb", endpoint_url=run.run_state["endpoint_url"], region_name="us-east-1",
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def _seen(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _change(record: dict[str, Any]) -> tuple[str, str, str | None]:
    body = record["dynamodb"]
    value = body.get("NewImage", {}).get("v", {}).get("S")
    return record["eventName"], body["Keys"]["pk"]["S"], value


def _serving(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/ping", timeout=5):
            return True
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def test_changes_unhandled_at_a_stop_are_handled_once_after_the_restart(stopapp: Any,
                                                                         tmp_path: Path) -> None:
    app = tmp_path / "carry.py"
    app.write_text(APP)
    audit, count = tmp_path / "audit.jsonl", tmp_path / "count.jsonl"
    run: StopApp = stopapp(app, "carry")
    ddb = _client(run)

    def put(pk: str, value: str) -> None:
        ddb.put_item(TableName="orders", Item={"pk": {"S": pk}, "v": {"S": value}})

    put("a", "1")
    wait_for((tmp_path / "audit.held").exists, 30, "audit to hold its first batch")
    put("a", "2")
    put("b", "1")
    put("hold", "1")
    ddb.delete_item(TableName="orders", Key={"pk": {"S": "b"}})
    put("c", "1")
    put("a", "3")
    wait_for((tmp_path / "count.held").exists, 30, "count to hold at the 'hold' change")
    url = run.run_state["http_url"]
    run.proc.send_signal(signal.SIGINT)
    # The HTTP server stops once every poller has been told to stop: then the held batches end.
    wait_for(lambda: not _serving(url), 30, "run-local to stop taking work")
    (tmp_path / "release").touch()
    run.proc.wait(60)
    assert run.stop() == 0
    first_audit, first_count = _seen(audit), _seen(count)
    assert [_change(r) for r in first_audit] == [("INSERT", "a", "1")]
    assert [_change(r)[1] for r in first_count] == ["a", "a", "b", "hold"]
    # The six changes after audit's checkpoint; the items a, hold and c.
    assert any("saved 6 stream records and 3 table items to" in line for line in run.err), run.err

    again: StopApp = stopapp(app, "carry")
    ddb = _client(again)
    put("c", "2")
    put("d", "1")
    wait_for(lambda: len(_seen(audit)) >= 9 and len(_seen(count)) >= 9, 30, "the carried and new changes")
    time.sleep(0.3)  # anything handled twice would show up by now
    assert again.stop() == 0
    assert any("restored 6 stream records and 3 table items saved" in line for line in again.err), again.err

    changes = [("INSERT", "a", "1"), ("MODIFY", "a", "2"), ("INSERT", "b", "1"), ("INSERT", "hold", "1"),
               ("REMOVE", "b", None), ("INSERT", "c", "1"), ("MODIFY", "a", "3"), ("MODIFY", "c", "2"),
               ("INSERT", "d", "1")]
    for path in (audit, count):
        records = _seen(path)
        assert [_change(r) for r in records] == changes, path.name
        numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
        assert numbers == sorted(set(numbers)), f"{path.name}: sequence numbers go back: {numbers}"
        DynamoDBStreamModel.model_validate({"Records": records})
    # A carried record is the record as it was written: its id, number, images and creation time
    # (the stream's ARN is the restarted table's).
    by_id = {r["eventID"]: r for r in _seen(count)}
    for record in _seen(audit)[1:4]:
        assert {**record, "eventSourceARN": ""} == {**by_id[record["eventID"]], "eventSourceARN": ""}
    assert not [s for s in run.seen + again.seen if s["outcome"] != "ok"]
