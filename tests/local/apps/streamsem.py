"""The app the stream-semantics tests run with `flowfn run-local` in a subprocess.

Every handler appends one JSON line per record it is given to the file named by the environment
variable STREAMSEM_LOG: the function, the invocation's request id (one per batch), the record's
shard and sequence number, its key and its payload, and whether the handler failed it. The test
reads what each function saw, batch by batch, from that file.
"""

import json
import os
import threading
import time

from flowfn import App, Queue, Stream, Table

app = App("streamsem")
clicks = Stream("clicks", shards=4)
orders = Stream("orders")
bulk = Stream("bulk")
poison = Stream("poison")
jobs = Stream("jobs")
backlog = Stream("backlog")
changes = Table("changes", key="pk", stream=True)
bisect_failed = Queue("bisect-failed")
isolated_failed = Queue("isolated-failed")
retry_failed = Queue("retry-failed")
changes_failed = Queue("changes-failed")
expired = Queue("expired")

_lock = threading.Lock()
#: Records failed once already (the handler that fails a record once remembers it here).
_failed_once: set[str] = set()


def _log(context, record, key, data, ok=True, **more):
    line = {"fn": context.function_name, "req": context.aws_request_id, "seq": record.sequence_number,
            "key": key, "data": data, "ok": ok, **more}
    if hasattr(record, "shard_id"):
        line["shard"] = record.shard_id
    else:
        line["created"] = record.raw["dynamodb"]["ApproximateCreationDateTime"]
    with _lock, open(os.environ["STREAMSEM_LOG"], "a") as out:
        out.write(json.dumps(line) + "\n")


@app.on_kinesis(clicks, starting_position="trim_horizon", batch_size=10)
def in_order(record, context):
    """Every record of every shard, one at a time; never fails."""
    _log(context, record, record.partition_key, record.json()["n"])


@app.on_kinesis(clicks, starting_position="trim_horizon", batch_size=50, parallelization=4)
def by_key(record, context):
    """The same records, a shard's batch split by partition key over four concurrent invocations;
    each record takes a little while, longer for some, so that groups overlap. Its line carries
    when it began and ended (this process's monotonic clock)."""
    n = record.json()["n"]
    began = time.monotonic()
    time.sleep(0.002 * (n % 5 + 1))
    _log(context, record, record.partition_key, n, span=[began, time.monotonic()])


@app.on_kinesis(orders, starting_position="trim_horizon", batch_size=10, batching_window_s=1)
def checkpointed(record, context):
    """Fails the record whose payload is 4 the first time it sees it."""
    n = record.json()["n"]
    if n == 4 and "orders-4" not in _failed_once:
        _failed_once.add("orders-4")
        _log(context, record, record.partition_key, n, ok=False)
        raise ValueError("record 4 fails once")
    _log(context, record, record.partition_key, n)


@app.on_kinesis(bulk, starting_position="trim_horizon", batch=True, batch_size=100, batching_window_s=1,
                bisect_on_error=True, max_retries=0, on_failure=bisect_failed)
def bisected(batch, context):
    """A batch holding the record 37 fails whole; any other batch succeeds."""
    numbers = [r.json()["n"] for r in batch]
    for record, n in zip(batch, numbers, strict=True):
        _log(context, record, record.partition_key, n, ok=37 not in numbers)
    if 37 in numbers:
        raise ValueError("a poison record is in this batch")


@app.on_kinesis(poison, starting_position="trim_horizon", batch_size=100, batching_window_s=1,
                bisect_on_error=True, max_retries=1, on_failure=isolated_failed)
def isolated(record, context):
    """One record at a time; the record 37 always fails."""
    n = record.json()["n"]
    _log(context, record, record.partition_key, n, ok=n != 37)
    if n == 37:
        raise ValueError("record 37 always fails")


@app.on_kinesis(jobs, starting_position="trim_horizon", batch_size=1, max_retries=2, max_record_age_s=60,
                on_failure=retry_failed)
def retried(record, context):
    """Always fails the record 'poison'."""
    text = record.text
    _log(context, record, record.partition_key, text, ok=text != "poison")
    if text == "poison":
        raise ValueError("poison always fails")


@app.on_kinesis(backlog, starting_position="trim_horizon", batch_size=10, max_record_age_s=60,
                on_failure=expired)
def aged(record, context):
    """Always fails the record 'doomed' (with no max_retries, only its age ends the retries)."""
    text = record.text
    _log(context, record, record.partition_key, text, ok=text != "doomed")
    if text == "doomed":
        raise ValueError("doomed always fails")


@app.on_dynamodb_stream(changes, starting_position="trim_horizon", batch_size=100, batching_window_s=1)
def changed(record, context):
    """Every change, one at a time; fails the change of item k7 the first time it sees it."""
    key = record.keys["pk"]
    if key == "k7" and "changes-k7" not in _failed_once:
        _failed_once.add("changes-k7")
        _log(context, record, key, record.event_name, ok=False)
        raise ValueError("k7 fails once")
    _log(context, record, key, record.event_name)


@app.on_dynamodb_stream(changes, starting_position="trim_horizon", batch_size=100, batching_window_s=1,
                        max_retries=1, on_failure=changes_failed)
def guarded(record, context):
    """Every change, one at a time; always fails the change of item k20."""
    key = record.keys["pk"]
    _log(context, record, key, record.event_name, ok=key != "k20")
    if key == "k20":
        raise ValueError("k20 always fails")
