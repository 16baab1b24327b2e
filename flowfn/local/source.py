"""What every local source shares: started and stopped with the app, and asked what it holds."""

from __future__ import annotations

import uuid

_NAMESPACE = uuid.UUID("6f1c2d6e-7f7a-4f55-9a53-2c1e6a0d5e11")

#: What drain() counts stream records under, beside queue URLs (in ``pending`` and ``gathering``).
STREAM_RECORDS = "stream records"


def sample_id(*parts: object) -> str:
    """A stable id for a sample event, derived from its inputs."""
    return str(uuid.uuid5(_NAMESPACE, "|".join(map(str, parts))))


class Source:
    """Something that feeds handlers of one trigger kind; the defaults do nothing."""

    def start(self) -> None:
        """Start taking work (called only when the run starts its sources)."""

    def signal_stop(self) -> None:
        """Stop taking new work (every source is told before any is waited for)."""

    def stop(self) -> None:
        """Wait for the work in hand."""

    def queues(self) -> list[str]:
        """Queue URLs that hold this source's pending work."""
        return []

    def pending(self) -> int:
        """Work it holds outside any queue (stream records not yet done); drain waits for it."""
        return 0

    def reading(self) -> bool:
        """Whether it is known to be still reading work in (a shard not read to its end): drain()
        then neither returns nor ends a window, and need not ask the emulator anything."""
        return False

    def gathering(self) -> dict[str, int]:
        """Messages it has received into batches still waiting out their batching window, by
        queue URL (each counted in that queue's depth); stream records, under ``STREAM_RECORDS``,
        of batches whose shard holds nothing more to read (each counted in its ``pending``)."""
        return {}

    def end_windows(self) -> None:
        """Hand the batches it is gathering to their handlers now (drain() found that nothing
        else can arrive)."""

    def held(self) -> dict[str, str]:
        """Queues of its own whose messages outlive a stop, name -> URL (beside the app's)."""
        return {}

    def settle(self) -> None:
        """On the final stop, once invocations have finished: hand on what it still owes."""
