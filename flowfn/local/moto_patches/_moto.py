"""What the fixes share: moto's SQS models module, imported on first use, and moto's own
functions while the fixes replace them."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Any

#: moto's functions the installed fixes replaced, by fix name.
ORIGINALS: dict[str, Any] = {}

_modules: dict[str, Any] = {}


def sqs_models() -> Any:
    """moto's SQS models module (imported on first use: moto is heavy)."""
    found = _modules.get("sqs")
    if found is None:
        found = _modules["sqs"] = importlib.import_module("moto.sqs.models")
    return found


_locks_lock = threading.Lock()


class ShardLock:
    """A re-entrant lock kept on a shard of moto's, which a deep copy of the shard gets a new one of.

    moto deep-copies a table, its stream shard included, before a ``TransactWriteItems`` so that it
    can roll a cancelled one back; a plain lock cannot be copied and failed every transaction on a
    table with a stream."""

    __slots__ = ("_lock",)

    def __init__(self) -> None:
        self._lock = threading.RLock()

    def __enter__(self) -> bool:
        return self._lock.acquire()

    def __exit__(self, *exc: object) -> None:
        self._lock.release()

    def __deepcopy__(self, memo: dict[int, Any]) -> ShardLock:
        return ShardLock()


def lock_of(owner: Any) -> ShardLock:
    """The lock kept on ``owner`` (a shard of moto's), made on first use."""
    found: ShardLock | None = owner.__dict__.get("_flowfn_lock")
    if found is None:
        with _locks_lock:
            found = owner.__dict__.setdefault("_flowfn_lock", ShardLock())
    return found


def one_at_a_time(fix: str, method: str, lock: threading.RLock) -> Callable[..., Any]:
    """A replacement for moto's ``method`` that runs the original (``ORIGINALS[fix]``) holding ``lock``."""

    def serialized(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return ORIGINALS[fix](self, *args, **kwargs)

    serialized.__name__ = serialized.__qualname__ = method
    serialized.__doc__ = f"moto's ``{method}``, while no other call holding the same lock runs."
    return serialized
