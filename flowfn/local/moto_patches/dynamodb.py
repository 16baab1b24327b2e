"""A fix to moto 5.2's DynamoDB Streams: each change to a table gets its own sequence number.

moto numbered a stream record by how many records its shard held, then appended it, with
nothing held between the two while its server answers on many threads: two writes at once could
take one number (eight writers of 150 items each left 1,200 records with 951 numbers, out of
order), and a stream poller, which checkpoints by sequence number, would skip or repeat records.
DynamoDB Streams numbers every change in order. Here a shard adds one record at a time.
"""

from __future__ import annotations

from typing import Any

from flowfn.local.moto_patches._moto import ORIGINALS, lock_of

__all__ = ["add"]


def add(self: Any, old: Any, new: Any) -> None:
    """``StreamShard.add``: the change's stream record, numbered and appended as one step."""
    with lock_of(self):
        ORIGINALS["dynamodb.StreamShard.add"](self, old, new)
