"""A fix to moto 5.2's DynamoDB Streams: a shard iterator expires 15 minutes after it is handed out.

DynamoDB Streams expires an iterator 15 minutes after it returns it (from ``GetShardIterator``, or
as a ``GetRecords`` answer's ``NextShardIterator``); ``GetRecords`` with an older one fails with
``ExpiredIteratorException``. moto kept every iterator it handed out for good, each about 1.5 KB
(a random id of 632 characters, in an ARN), and a stream poller makes a new one with every read,
four a second on an idle shard: a local run grew without end. Here moto's store of iterators
(:class:`Iterators`) forgets those handed out 15 minutes ago, and ``GetRecords`` with an
iterator it does not hold answers ``ExpiredIteratorException``, as AWS answers an expired one
(moto raised a ``KeyError``, answered as an internal error).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from flowfn.local.moto_patches._moto import ORIGINALS

__all__ = ["EXPIRY_S", "Iterators", "get_records", "get_shard_iterator"]

#: How long DynamoDB Streams honours a shard iterator after handing it out.
EXPIRY_S = 15 * 60
#: The clock iterators are aged by (tests move it on).
clock = time.monotonic

_swap = threading.Lock()


class Iterators(dict[str, Any]):
    """moto's shard iterators by ARN, forgetting each ``EXPIRY_S`` after it was stored."""

    def __init__(self, stored: dict[str, Any] | None = None) -> None:
        super().__init__()
        self._issued: deque[tuple[float, str]] = deque()
        self._lock = threading.Lock()
        for arn, iterator in (stored or {}).items():
            self[arn] = iterator

    def __setitem__(self, arn: str, iterator: Any) -> None:
        now = clock()
        with self._lock:
            super().__setitem__(arn, iterator)
            self._issued.append((now, arn))
        self.forget(now)

    def forget(self, now: float | None = None) -> None:
        """Drop the iterators handed out ``EXPIRY_S`` or more before ``now``."""
        now = clock() if now is None else now
        with self._lock:
            issued = self._issued
            while issued and now - issued[0][0] >= EXPIRY_S:
                self.pop(issued.popleft()[1], None)


def _store(backend: Any) -> Iterators:
    store = backend.shard_iterators
    if type(store) is not Iterators:
        with _swap:
            store = backend.shard_iterators
            if type(store) is not Iterators:
                store = backend.shard_iterators = Iterators(store)
    return store


def get_shard_iterator(self: Any, *args: Any, **kwargs: Any) -> Any:
    """``DynamoDBStreamsBackend.get_shard_iterator``, storing the iterator in an :class:`Iterators`."""
    _store(self)
    return ORIGINALS["dynamodbstreams.DynamoDBStreamsBackend.get_shard_iterator"](self, *args, **kwargs)


def get_records(self: Any, iterator_arn: str, limit: int) -> Any:
    """``DynamoDBStreamsBackend.get_records``, answering ``ExpiredIteratorException`` for an iterator
    handed out 15 minutes ago or more (or never)."""
    from moto.core.exceptions import JsonRESTError

    store = _store(self)
    store.forget()
    iterator = store.get(iterator_arn)  # moto's lookup, which raised KeyError for one it lacked
    if iterator is None:
        raise JsonRESTError("ExpiredIteratorException",
                            "The provided iterator exceeds the maximum age allowed.")
    return iterator.get(limit)
