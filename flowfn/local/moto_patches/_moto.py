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


def lock_of(owner: Any) -> threading.RLock:
    """The lock kept on ``owner`` (a shard of moto's), made on first use."""
    found: threading.RLock | None = owner.__dict__.get("_flowfn_lock")
    if found is None:
        with _locks_lock:
            found = owner.__dict__.setdefault("_flowfn_lock", threading.RLock())
    return found


def one_at_a_time(fix: str, method: str, lock: threading.RLock) -> Callable[..., Any]:
    """A replacement for moto's ``method`` that runs the original (``ORIGINALS[fix]``) holding ``lock``."""

    def serialized(self: Any, *args: Any, **kwargs: Any) -> Any:
        with lock:
            return ORIGINALS[fix](self, *args, **kwargs)

    serialized.__name__ = serialized.__qualname__ = method
    serialized.__doc__ = f"moto's ``{method}``, while no other call holding the same lock runs."
    return serialized
