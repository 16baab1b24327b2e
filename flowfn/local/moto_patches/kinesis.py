"""Fixes to moto 5.2's Kinesis shards: reading and writing a record cost the same at any depth.

A shard keeps its records in an ordered dict keyed by sequence number (1, 2, 3, ... in the order
they were put). moto read a batch by walking every record from the shard's first to the
iterator's position, and found the last sequence number by copying all keys into a list, on
every ``PutRecord``. A poller at ``LATEST`` on a shard of 100,000 records walked all of them on
each poll, even to find nothing.

Here a shard also keeps its keys in a list, in the same order, grown as records are put; a
batch starts at the iterator's position found by bisection. The list belongs to the dict it was
made from: moto's ``split_shard`` gives the shard a new dict, and the list is made anew.

moto also put and read a shard's records with nothing held, while its server answers on many
threads: two ``PutRecord`` calls at once could take the same sequence number, the second record
replacing the first (eight writers of 300 records each left 1,831 of 2,400), and a read during a
put could fail with ``OrderedDict mutated during iteration``. Kinesis gives every record its own
number. A shard's puts and reads here hold the shard's lock.

Resharding (``SplitShard``, ``MergeShards``, ``UpdateShardCount``) closed the parents and then put
the parents' records again into the children (a split emptied the parent; a merge copied them),
and later puts still went to the first shard whose hash range held the key, a closed parent
included: records were read twice, or never. In Kinesis a closed parent keeps its records, the
children start empty, and only open shards take new records.
"""

from __future__ import annotations

import itertools
from bisect import bisect_right
from collections import OrderedDict
from typing import Any

from flowfn.local.moto_patches._moto import ORIGINALS, lock_of

__all__ = ["get_max_sequence_number", "get_min_sequence_number", "get_records", "get_shard_for_key",
           "merge_shards", "put_record", "split_shard"]

_KEYS = "_flowfn_keys"


def _keys(shard: Any) -> list[int]:
    """The shard's sequence numbers in order (records are only ever added, in increasing order)."""
    records = shard.records
    cached = shard.__dict__.get(_KEYS)
    if cached is None or cached[0] is not records or len(cached[1]) > len(records):
        cached = shard.__dict__[_KEYS] = (records, list(records))
    elif len(cached[1]) < len(records):  # records put without put_record below (moto's own paths)
        cached[1].extend(itertools.islice(records, len(cached[1]), None))
    keys: list[int] = cached[1]
    return keys


def get_records(self: Any, last_sequence_id: str, limit: int | None) -> tuple[list[Any], int, int]:
    """``Shard.get_records``: up to ``limit`` records after ``last_sequence_id``.

    moto tested every record from the first; the first record wanted is found by bisection
    instead. Results are the same: moto kept records in increasing sequence order and took them
    while counting to ``limit`` (a limit of None, or under one, took every record after the
    position); the position returned is the last record taken's, or the one given; the lag is the
    newest record's arrival minus the last taken's, in milliseconds (0 when none is taken).
    """
    with lock_of(self):
        return _get_records(self, int(last_sequence_id), limit)


def _get_records(self: Any, last: int, limit: int | None) -> tuple[list[Any], int, int]:
    keys = _keys(self)
    start = bisect_right(keys, last)
    chosen = keys[start:] if limit is None or limit < 1 else keys[start:start + limit]
    if not chosen:
        return [], last, 0
    records = self.records
    results = [records[key] for key in chosen]
    newest = records[keys[-1]]
    return results, chosen[-1], int((newest.created_at - results[-1].created_at) * 1000)


def put_record(self: Any, partition_key: str, data: str, explicit_hash_key: str) -> str:
    """``Shard.put_record`` that finds the last sequence number without copying every key, one
    put at a time."""
    with lock_of(self):
        sequence: str = ORIGINALS["kinesis.Shard.put_record"](self, partition_key, data, explicit_hash_key)
        cached = self.__dict__.get(_KEYS)
        if cached is not None and cached[0] is self.records and len(cached[1]) == len(self.records) - 1:
            cached[1].append(int(sequence))
        return sequence


def get_max_sequence_number(self: Any) -> int:
    """``Shard.get_max_sequence_number``: the last key, read without listing them all."""
    return int(next(reversed(self.records))) if self.records else 0


def get_min_sequence_number(self: Any) -> int:
    """``Shard.get_min_sequence_number``: the first key, read without listing them all."""
    return int(next(iter(self.records))) if self.records else 0


def _kept(fix: str, self: Any, parents: list[Any], *args: Any) -> None:
    """Run moto's resharding ``fix`` with the parents' records set aside, then give them back: the
    children start empty, as in Kinesis."""
    held = [(shard, shard.records) for shard in parents if shard is not None]
    for shard, _ in held:
        shard.records = OrderedDict()
    try:
        ORIGINALS[fix](self, *args)
    finally:
        for shard, records in held:
            shard.records = records


def split_shard(self: Any, shard_to_split: str, new_starting_hash_key: str) -> None:
    """``Stream.split_shard``: the parent closes keeping its records; the two children start empty."""
    _kept("kinesis.Stream.split_shard", self, [self.shards.get(shard_to_split)], shard_to_split,
          new_starting_hash_key)


def merge_shards(self: Any, shard_to_merge: str, adjacent_shard_to_merge: str) -> None:
    """``Stream.merge_shards``: both parents close keeping their records; the child starts empty."""
    _kept("kinesis.Stream.merge_shards", self,
          [self.shards.get(shard_to_merge), self.shards.get(adjacent_shard_to_merge)],
          shard_to_merge, adjacent_shard_to_merge)


def get_shard_for_key(self: Any, partition_key: str, explicit_hash_key: str) -> Any:
    """``Stream.get_shard_for_key``: the open shard whose hash range holds the key (moto took the
    first shard holding it, a closed one included)."""
    found = ORIGINALS["kinesis.Stream.get_shard_for_key"](self, partition_key, explicit_hash_key)
    if found is None or found.is_open:
        return found
    from moto.utilities.utils import md5_hash

    key = (int(explicit_hash_key) if explicit_hash_key
           else int(md5_hash(partition_key.encode()).hexdigest(), 16))
    return next((s for s in self.shards.values() if s.is_open and s.starting_hash <= key <= s.ending_hash),
                found)
