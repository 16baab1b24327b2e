"""What goes wrong in a local source's own work, kept and said.

A source (a queue poller, a shard poller, a notification reader) that meets an error of its own,
the emulator gone or answering oddly, or a delivery it cannot read, goes on: the next poll may
succeed. The error must still be seen. :class:`Faults` is the list a source keeps them in. The
first of each kind (its type and message) is logged as a warning naming the source; the same
again is counted, not logged. Only the latest :data:`KEEP` are kept, so that a fault repeating for
hours (a queue deleted under a running poller) neither floods the terminal nor grows the process.
"""

from __future__ import annotations

import logging
import threading

__all__ = ["KEEP", "Faults"]

log = logging.getLogger("flowfn.local")

#: Faults kept, and kinds of fault counted, per source.
KEEP = 100


def _text(exc: BaseException) -> str:
    try:
        return str(exc)[:300]
    except Exception:  # an exception whose str() raises still has a type
        return ""


class Faults(list[BaseException]):
    """A source's own errors: the latest :data:`KEEP`, each new kind logged once (``counts``)."""

    def __init__(self, source: str) -> None:
        super().__init__()
        self.source = source
        #: How many times each kind, (type name, message), occurred; kinds past KEEP count as "other".
        self.counts: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    def append(self, exc: BaseException) -> None:
        kind = (type(exc).__name__, _text(exc))
        with self._lock:
            if kind not in self.counts and len(self.counts) >= KEEP:
                kind = ("other", "")
            first = kind not in self.counts
            self.counts[kind] = self.counts.get(kind, 0) + 1
            super().append(exc)
            if len(self) > KEEP:
                del self[0]
        if not first:
            return
        if kind[0] == "other":
            log.warning("%s: more than %d kinds of error; the rest are counted, not shown", self.source, KEEP)
        else:
            log.warning("%s: %s%s (it goes on; the same error again is counted, not shown)",
                        self.source, kind[0], f": {kind[1]}" if kind[1] else "")
