"""What a local run's streams and tables hold outlives a stop (embedded emulator only).

On stop, ``<state dir>/<app>/streams.json`` gets every Kinesis stream's records, shard by shard in
order, and every table's items. The next start puts the records back in the same order, so each
shard's records get the sequence numbers they had and the pollers resume from their checkpoints
(``<state dir>/<app>/checkpoints/``). Items are put back without stream records (they were
handled, or not, before the stop): a table's stream starts anew, read from each mapping's starting
position.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flowfn.local.engine import LocalApp

__all__ = ["FILE", "restore", "save"]

FILE = "streams.json"


def _shard_records(kinesis: Any, name: str) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            got = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            out.extend({"data": base64.b64encode(r["Data"]).decode(), "key": r["PartitionKey"]}
                       for r in got["Records"])
            if not got["Records"]:
                break
            iterator = got.get("NextShardIterator")
    return out


def save(local: LocalApp, file: Path) -> int:
    """Write the streams' records and the tables' items to ``file``; how many records and items."""
    kinesis = local.target.client("kinesis")
    ddb = local.target.client("dynamodb")
    state: dict[str, Any] = {"streams": {}, "tables": {}}
    count = 0
    for (kind, logical), name in local.bindings.names.items():
        if kind == "stream":
            records = _shard_records(kinesis, name)
            state["streams"][logical] = records
            count += len(records)
        elif kind == "table":
            items: list[dict[str, Any]] = []
            for page in ddb.get_paginator("scan").paginate(TableName=name):
                items.extend(page["Items"])
            state["tables"][logical] = items
            count += len(items)
    if count:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(file)
    elif file.exists():
        file.unlink()
    return count


def restore(local: LocalApp, file: Path) -> int:
    """Put back what ``file`` holds into streams and tables the app still declares and that are
    empty; how many records and items."""
    if not file.is_file():
        return 0
    state = json.loads(file.read_text())
    names = local.bindings.names
    kinesis = local.target.client("kinesis")
    count = 0
    for logical, records in state.get("streams", {}).items():
        name = names.get(("stream", logical))
        if name is None or _shard_records(kinesis, name):
            continue
        for record in records:
            kinesis.put_record(StreamName=name, Data=base64.b64decode(record["data"]),
                               PartitionKey=record["key"])
            count += 1
    for logical, items in state.get("tables", {}).items():
        name = names.get(("table", logical))
        if name is not None and items:
            count += _put_quietly(local, name, items)
    return count


def _put_quietly(local: LocalApp, name: str, items: list[dict[str, Any]]) -> int:
    # Straight into the embedded emulator's table, with its stream off meanwhile: the items were
    # there before the stop, and a restore is no change to them.
    from moto.dynamodb.models import dynamodb_backends

    target = local.target
    table = dynamodb_backends[target.account][target.region].get_table(name)
    if table.items:
        return 0
    shard, table.stream_shard = table.stream_shard, None
    try:
        backend = dynamodb_backends[target.account][target.region]
        for item in items:
            backend.put_item(name, item)
    finally:
        table.stream_shard = shard
    return len(items)
