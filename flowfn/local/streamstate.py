"""What a local run's streams and tables hold outlives a stop (embedded emulator only).

On stop, ``<state dir>/<app>/streams.json`` gets every Kinesis stream's records, shard by shard in
order, every table's items, and, for each table's stream, the records some mapping reading it has
not handled yet. The next start puts them all back, and each mapping resumes from its checkpoint
(``<state dir>/<app>/checkpoints/<handler>.json``), as Lambda's do:

- A Kinesis stream's records are put again in the same order, so each shard's records get the
  sequence numbers they had, and keep the arrival times they had (``max_record_age_s`` counts
  from when they first arrived).
- A table's items are put back without stream records (they were there before the stop; a restore
  is no change to them).
- A table's stream keeps the records after the lowest checkpoint of the mappings reading it (with
  their event names, keys, images, sequence numbers and creation times, in order). They go back
  into the stream's shard as they were, ahead of the records written after the restart, which get
  the next sequence numbers. Each mapping gets exactly the records after its own checkpoint, with
  the event it would have had before the stop; ``max_record_age_s`` counts from when they were
  written; only ``eventSourceARN`` names the new run's stream (the emulator's stream label is the
  table's creation time). A mapping with no checkpoint yet handled none of the kept records: it is
  given one just before them. Records every mapping had handled are not kept; the stream's
  sequence numbers go on after the last one, so checkpoints never point past the new records.

Only what a clean stop saves is kept: after a run that was killed, the last file's records are
dropped when the checkpoints have moved past them.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from flowfn.local.shards import Checkpoints, checkpoint_file

if TYPE_CHECKING:
    from flowfn.local.engine import LocalApp

__all__ = ["FILE", "restore", "save"]

FILE = "streams.json"


def _shard_records(kinesis: Any, name: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for shard in kinesis.list_shards(StreamName=name)["Shards"]:
        iterator = kinesis.get_shard_iterator(StreamName=name, ShardId=shard["ShardId"],
                                              ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        while iterator:
            got = kinesis.get_records(ShardIterator=iterator, Limit=10_000)
            out.extend({"data": base64.b64encode(r["Data"]).decode(), "key": r["PartitionKey"],
                        "arrival": r["ApproximateArrivalTimestamp"].timestamp()} for r in got["Records"])
            if not got["Records"]:
                break
            iterator = got.get("NextShardIterator")
    return out


def save(local: LocalApp, file: Path) -> tuple[int, int]:
    """Write the streams' records, the tables' items and the records of tables' streams not yet
    handled by every mapping to ``file``; how many stream records, and how many items."""
    kinesis = local.target.client("kinesis")
    ddb = local.target.client("dynamodb")
    state: dict[str, Any] = {"streams": {}, "tables": {}, "table_streams": {}}
    count = items_count = 0
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
            items_count += len(items)
            stream = _save_stream(local, logical, name)
            if stream is not None:
                state["table_streams"][logical] = stream
                count += len(stream["records"])
    if count or items_count or state["table_streams"]:
        file.parent.mkdir(parents=True, exist_ok=True)
        tmp = file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(file)
    elif file.exists():
        file.unlink()
    return count, items_count


def restore(local: LocalApp, file: Path) -> tuple[int, int]:
    """Put back what ``file`` holds into streams and tables the app still declares and that are
    empty; how many stream records, and how many items."""
    state = json.loads(file.read_text()) if file.is_file() else {}
    names = local.bindings.names
    streams = state.get("streams", {})
    kinesis: Any = local.target.client("kinesis") if streams else None  # none saved: no client
    count = items_count = 0
    for logical, records in streams.items():
        name = names.get(("stream", logical))
        if name is None or _shard_records(kinesis, name):
            continue
        for record in records:
            put = kinesis.put_record(StreamName=name, Data=base64.b64decode(record["data"]),
                                     PartitionKey=record["key"])
            if "arrival" in record:  # a file written before arrivals were kept has none
                _arrived(local, name, put, float(record["arrival"]))
            count += 1
    for logical, items in state.get("tables", {}).items():
        name = names.get(("table", logical))
        if name is not None and items:
            items_count += _put_quietly(local, name, items)
    saved = state.get("table_streams", {})
    for (kind, logical), name in names.items():
        if kind == "table":  # with no saved stream, still past the checkpoints' numbers
            count += _restore_stream(local, logical, name, saved.get(logical, {}))
    return count, items_count


def _arrived(local: LocalApp, name: str, put: dict[str, Any], arrival: float) -> None:
    """Give the record just put back (``put``: what PutRecord answered) the arrival time it had, in
    the embedded emulator, as the DynamoDB restore gives its records their creation times."""
    from moto.kinesis.models import kinesis_backends

    target = local.target
    stream = kinesis_backends[target.account][target.region].describe_stream(None, name)
    record = stream.get_shard(put["ShardId"]).records[int(put["SequenceNumber"])]
    record.created_at_datetime = datetime.fromtimestamp(arrival, UTC).replace(tzinfo=None)
    record.created_at = arrival


def _table(local: LocalApp, name: str) -> Any:
    from moto.dynamodb.models import dynamodb_backends

    target = local.target
    return dynamodb_backends[target.account][target.region].get_table(name)


def _put_quietly(local: LocalApp, name: str, items: list[dict[str, Any]]) -> int:
    # Straight into the embedded emulator's table, with its stream off meanwhile: the items were
    # there before the stop, and a restore is no change to them.
    from moto.dynamodb.models import dynamodb_backends

    target = local.target
    table = _table(local, name)
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


def _checkpoints(local: LocalApp, logical: str) -> list[Checkpoints]:
    """The checkpoints of each mapping reading the table ``logical``'s stream."""
    if local.options.state_dir is None:
        return []
    folder = local.options.state_dir / (local.app.name or "app")
    return [Checkpoints(checkpoint_file(folder, h.name)) for h in local.app.handlers
            if h.trigger.invocation == "poll"
            and ("table", logical) in {(r.kind, r.logical_name) for r in h.trigger.resources()}]


def _number(record: dict[str, Any]) -> int:
    return int(record["dynamodb"]["SequenceNumber"])


def _save_stream(local: LocalApp, logical: str, name: str) -> dict[str, Any] | None:
    """The stream's shard, its next sequence number and the records after the lowest checkpoint
    of the mappings reading it (None: no stream, or nothing written to it and no one reading it)."""
    from moto.dynamodb.models.utilities import dynamo_json_dump

    shard = _table(local, name).stream_shard
    mappings = _checkpoints(local, logical)
    if shard is None or not (mappings or shard.items):
        return None
    start = int(shard.starting_sequence_number)
    after = [c.get(shard.id) for c in mappings]
    low = min((max(int(a), start - 1) if a is not None else start - 1 for a in after),
              default=start + len(shard.items) - 1)
    # As the emulator's API would answer: the creation time in Unix seconds, binary in base64.
    records = [json.loads(dynamo_json_dump(r.to_json())) for r in shard.items[low - start + 1:]]
    if records:
        before = str(_number(records[0]) - 1)
        for checkpoints, done in zip(mappings, after, strict=True):
            if done is None:  # it handled none of these: it starts with the first of them
                checkpoints.set(shard.id, before)
    return {"shard": shard.id, "next": start + len(shard.items), "records": records}


def _restore_stream(local: LocalApp, logical: str, name: str, saved: dict[str, Any]) -> int:
    """Put the saved records back into the table's empty stream, as they were; later records
    follow them. How many records."""
    from moto.dynamodb.models.table import StreamRecord

    shard = _table(local, name).stream_shard
    if shard is None or shard.items:
        return 0
    shard.id = saved.get("shard", shard.id)  # the same stream: checkpoints name this shard
    marks = [int(a) for c in _checkpoints(local, logical) if (a := c.get(shard.id)) is not None]
    records: list[dict[str, Any]] = saved.get("records", [])
    following = max([int(saved.get("next", 0)), *(m + 1 for m in marks)], default=0)
    if records and _number(records[0]) + len(records) != following:
        records = []  # checkpoints moved on after this file was written (a run that did not stop)
    if records:
        shard.starting_sequence_number = _number(records[0])
    else:
        shard.starting_sequence_number = max(int(shard.starting_sequence_number), following)
    for saved_record in records:
        record = cast("StreamRecord", StreamRecord.__new__(StreamRecord))  # as saved, not rebuilt
        body = saved_record["dynamodb"]
        created = datetime.fromtimestamp(float(body["ApproximateCreationDateTime"]), UTC)
        record.record = {**saved_record, "dynamodb": {**body, "ApproximateCreationDateTime":
                                                      created.replace(tzinfo=None)}}
        shard.items.append(record)
    return len(records)
