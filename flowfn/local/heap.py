"""Keeping a long-running local process's start-up heap out of the garbage collector's full passes.

By the time an app runs locally, the process holds well over a hundred thousand objects that live
as long as it does: botocore's and moto's service models, the emulator, flowfn and the app's
modules. CPython's full collections visit every one of them each time; on a two-core machine one
such pass took 100-140 ms: a pause for every request and record in flight, and most of what set the
stream pollers behind a bare read loop. :func:`freeze` moves what exists into the collector's
permanent generation (:func:`gc.freeze`), so full passes visit only what was made since; reference
counting still frees those objects as ever, only cycles among them wait until :func:`thaw`.

Freezes are counted, so that two local apps in one process share one; a process that froze its heap
itself (a pre-forking server, say) is left as it is.
"""

from __future__ import annotations

import gc
import threading

__all__ = ["freeze", "frozen", "refreeze", "thaw"]

_lock = threading.Lock()
_holders = 0
_ours = False  # whether the objects now frozen were frozen here


def freeze() -> None:
    """Freeze the heap as it is now, or join the freeze in place. Pair each call with :func:`thaw`."""
    global _holders, _ours
    with _lock:
        _holders += 1
        if _holders == 1:
            _ours = gc.get_freeze_count() == 0
            if _ours:
                gc.freeze()


def thaw() -> None:
    """Leave the freeze; the last to leave it hands the objects back to the collector."""
    global _holders, _ours
    with _lock:
        if _holders == 0:
            return
        _holders -= 1
        if _holders == 0 and _ours:
            gc.unfreeze()
            _ours = False


def refreeze() -> None:
    """Collect what became garbage while frozen (a reloaded app's old code), then freeze again.

    Only when this process's one freeze is held by one holder: with two, what the other holds
    stays as it is. Costs one full collection.
    """
    with _lock:
        if _holders == 1 and _ours:
            gc.unfreeze()
            gc.collect()
            gc.freeze()


def frozen() -> int:
    """How many objects the collector now leaves out of its passes."""
    return gc.get_freeze_count()
