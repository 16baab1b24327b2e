"""SQS event-source mappings: the trigger spec and its validation."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from flowfn.errors import ConfigError
from flowfn.resources import Queue, Resource
from flowfn.triggers.base import Trigger

MAX_BATCH_STANDARD = 10_000
MAX_BATCH_FIFO = 10
MAX_BATCHING_WINDOW_S = 300


@dataclass(frozen=True)
class SqsTrigger(Trigger):
    """Run the handler on messages from ``queue``, with partial batch failure reporting.

    Lambda receives up to ``batch_size`` messages at once, waiting up to ``batching_window_s``
    to fill a batch. By default the handler gets one record at a time and a record whose handler
    raises is retried alone; with ``batch=True`` it gets the whole batch. With ``model=`` (a
    pydantic model) each body is parsed and validated, and a body that fails is reported failed.
    ``max_concurrency`` caps how many concurrent invocations the queue drives (2-1000).
    """

    kind: ClassVar[str] = "sqs"
    passes: ClassVar[tuple[str, ...]] = ("record", "context")
    queue: Queue
    batch_size: int = 10
    batching_window_s: int = 0
    batch: bool = False
    model: type[Any] | None = None
    max_concurrency: int | None = None

    def resources(self) -> tuple[Resource, ...]:
        return (self.queue,)

    def describe(self) -> str:
        window = f", window {self.batching_window_s}s" if self.batching_window_s else ""
        return f"sqs {self.queue.logical_name} (batch {self.batch_size}{window})"

    def conflict(self, other: Trigger) -> str | None:
        if isinstance(other, SqsTrigger) and other.queue.logical_name == self.queue.logical_name:
            return (
                f"both consume queue {self.queue.logical_name!r}; Lambda would split its messages "
                "between them at random"
            )
        return None

    def check(self, subject: str, settings: Any) -> None:
        vt = self.queue.visibility_timeout_s
        if vt is not None and vt < settings.timeout_s:
            raise ConfigError(
                subject, "timeout_s",
                f"the function may run {settings.timeout_s}s but queue "
                f"{self.queue.logical_name!r} hides a received message for only {vt}s "
                "(visibility_timeout_s); AWS refuses such a mapping, since a message could be "
                "handled twice at once",
                f"raise the queue's visibility_timeout_s to at least {settings.timeout_s} (AWS "
                f"advises {min(6 * settings.timeout_s, 43_200)}), or leave it unset for flowfn to "
                "derive",
            )


def make_sqs_trigger(
    queue: Queue, batch_size: int, batching_window_s: int, batch: bool, model: type[Any] | None,
    max_concurrency: int | None, subject: str,
) -> SqsTrigger:
    if not isinstance(queue, Queue):
        raise ConfigError(subject, "queue", f"{queue!r} is not a Queue",
                          "declare it with Queue('name') and pass that object")
    limit = MAX_BATCH_FIFO if queue.fifo else MAX_BATCH_STANDARD
    kind = "a FIFO" if queue.fifo else "a standard"
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or not 1 <= batch_size <= limit:
        raise ConfigError(subject, "batch_size", f"{batch_size!r} is outside 1-{limit}, the range "
                          f"Lambda accepts for {kind} queue", f"choose 1-{limit}")
    if (
        isinstance(batching_window_s, bool) or not isinstance(batching_window_s, int)
        or not 0 <= batching_window_s <= MAX_BATCHING_WINDOW_S
    ):
        raise ConfigError(subject, "batching_window_s", f"{batching_window_s!r} is outside 0-300 "
                          "seconds", "choose 0-300")
    if queue.fifo and batching_window_s:
        raise ConfigError(subject, "batching_window_s", "Lambda has no batching window for FIFO "
                          "queues", "drop batching_window_s")
    if batch_size > 10 and batching_window_s < 1:
        raise ConfigError(subject, "batching_window_s", f"batch_size={batch_size} needs a batching "
                          "window; Lambda requires one of at least 1 second above 10 messages",
                          "set batching_window_s=1 or more")
    if model is not None and not (isinstance(model, type) and hasattr(model, "model_validate")):
        raise ConfigError(subject, "model", f"{model!r} is not a pydantic model class",
                          "pass a subclass of pydantic.BaseModel")
    if max_concurrency is not None and (
        isinstance(max_concurrency, bool) or not isinstance(max_concurrency, int)
        or not 2 <= max_concurrency <= 1000
    ):
        raise ConfigError(subject, "max_concurrency", f"{max_concurrency!r} is outside 2-1000, "
                          "Lambda's range for SQS maximum concurrency", "choose 2-1000")
    return SqsTrigger(queue=queue, batch_size=batch_size, batching_window_s=batching_window_s,
                      batch=batch, model=model, max_concurrency=max_concurrency)
