"""Fixes to moto 5.2's DynamoDB: item writes are atomic, and each change gets its own stream number.

DynamoDB applies a write's condition and its change as one step, and an ``ADD`` to a number
adds to the value at that moment. moto checked, read and wrote with nothing held while its server
answers on many threads: eight writers creating the same 40 keys under
``attribute_not_exists(pk)`` succeeded 44 times, and 800 concurrent ``ADD c :one`` left the
counter at 728. Apps that make retries harmless with conditional writes, or count with ``ADD``,
lost or doubled work locally that they would not in AWS. moto's item writes (``PutItem``,
``UpdateItem``, ``DeleteItem``, transactions and PartiQL statements) run one at a time here.

moto numbered a stream record by how many records its shard held, then appended it, with
nothing held between the two while its server answers on many threads: two writes at once could
take one number (eight writers of 150 items each left 1,200 records with 951 numbers, out of
order), and a stream poller, which checkpoints by sequence number, would skip or repeat records.
DynamoDB Streams numbers every change in order. Here a shard adds one record at a time.

moto rolled a cancelled ``TransactWriteItems`` back by putting deep copies of its tables in
their place, stream shards included: the table's stream went on in a copy that stream pollers
never read, and the original shard kept the records of the writes that were rolled back. A
cancelled transaction changes nothing in DynamoDB, its stream included. Here each table put back
keeps its own shard, without the records the cancelled transaction added.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from flowfn.local.moto_patches._moto import ORIGINALS, lock_of, one_at_a_time

__all__ = ["WRITES", "add", "serialized", "transact_write_items"]

#: moto's DynamoDBBackend methods that change items (``transact_write_items`` has a fix of its own).
WRITES = ("put_item", "update_item", "delete_item", "execute_statement", "execute_transaction",
          "batch_execute_statement")

_writes = threading.RLock()


def serialized(name: str) -> Callable[..., Any]:
    """``DynamoDBBackend.<name>``, run while no other item write runs."""
    return one_at_a_time(f"dynamodb.DynamoDBBackend.{name}", name, _writes)


def add(self: Any, old: Any, new: Any) -> None:
    """``StreamShard.add``: the change's stream record, numbered and appended as one step."""
    with lock_of(self):
        ORIGINALS["dynamodb.StreamShard.add"](self, old, new)


def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    """``DynamoDBBackend.transact_write_items``, run while no other item write runs; a cancelled
    one leaves each table's stream shard in place, as it was before."""
    with _writes:
        shards = {name: (table.stream_shard, len(table.stream_shard.items))
                  for name, table in self.tables.items() if table.stream_shard is not None}
        try:
            ORIGINALS["dynamodb.DynamoDBBackend.transact_write_items"](self, transact_items)
        except BaseException:
            for name, (shard, count) in shards.items():
                table = self.tables.get(name)
                if table is not None and table.stream_shard is not shard:  # put back as a copy
                    del shard.items[count:]
                    shard.table = table
                    table.stream_shard = shard
            raise
