"""What the Kinesis and DynamoDB Streams triggers share: the event-source mapping's settings.

Lambda reads a stream shard by shard, in order, and keeps a checkpoint per shard. The settings
here are the mapping's, validated against the ranges and rules AWS applies when it is created.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

from flowfn.errors import ConfigError
from flowfn.resources import Resource
from flowfn.triggers.base import Invocation, Trigger, first_annotation
from flowfn.triggers.patterns import check_filter_pattern

MAX_BATCH = 10_000
MAX_BATCHING_WINDOW_S = 300
MAX_RETRIES = 10_000
MIN_RECORD_AGE_S, MAX_RECORD_AGE_S = 60, 604_800
MAX_PARALLELIZATION = 10
MAX_FILTERS = 5
MAX_FILTER_CHARS = 4_096
MAX_TUMBLING_WINDOW_S = 900


class StreamSettings(Trigger):
    """The settings of a stream's event-source mapping (Kinesis or DynamoDB Streams).

    ``batch_size`` (1-10,000, default 100) records per invocation, waiting up to
    ``batching_window_s`` (0-300) to fill it; ``starting_position`` where a new mapping starts
    reading (``"latest"`` or ``"trim_horizon"``; Kinesis also ``"at_timestamp"`` with
    ``starting_timestamp``). A failing batch blocks its shard and is retried, from the lowest record
    reported failed (a partial response) or whole (a failed invocation, which ``bisect_on_error``
    splits in two first), up to ``max_retries`` times (None: until the records expire) and for
    records no older than ``max_record_age_s`` (None: no limit); then its metadata goes to
    ``on_failure`` (a queue) and the shard moves on. ``parallelization`` (1-10) runs that many
    batches of one shard at once, keeping order per partition key. ``filters`` are Lambda's filter
    criteria patterns (dicts); records matching none are skipped. ``tumbling_window_s`` (0-900;
    0: none, ``batch=True`` only) groups each shard's records into windows of that many seconds, by
    arrival time, and carries a state from one invocation of a window to the next (``batch.state``);
    the window's last invocation (``batch.is_final``) comes when it ends.
    """

    invocation: ClassVar[Invocation] = "poll"
    passes: ClassVar[tuple[str, ...]] = ("record", "context")
    #: The table or stream read.
    source: Resource
    batch_size: int = 100
    batching_window_s: int = 0
    starting_position: str = "latest"
    starting_timestamp: float | None = None
    bisect_on_error: bool = False
    max_retries: int | None = None
    max_record_age_s: int | None = None
    parallelization: int = 1
    on_failure: Resource | None = None
    filters: tuple[str, ...] = ()
    batch: bool = False
    model: type[Any] | None = None
    tumbling_window_s: int = 0

    def resources(self) -> tuple[Resource, ...]:
        return (self.source,)

    def destinations(self) -> tuple[Resource, ...]:
        return (self.on_failure,) if self.on_failure is not None else ()

    def touches(self) -> list[tuple[Resource, str]]:
        found: list[tuple[Resource, str]] = [(self.source, "read stream (trigger)")]
        if self.on_failure is not None:
            found.append((self.on_failure, "receives failed batches' metadata"))
        return found

    def settings_text(self) -> str:
        """The mapping's settings in words, for ``flowfn list``."""
        parts = [f"batch {self.batch_size}", f"from {self.starting_position}"]
        if self.batching_window_s:
            parts.append(f"window {self.batching_window_s}s")
        if self.bisect_on_error:
            parts.append("bisect")
        if self.max_retries is not None:
            parts.append(f"retries {self.max_retries}")
        if self.max_record_age_s is not None:
            parts.append(f"max age {self.max_record_age_s}s")
        if self.parallelization > 1:
            parts.append(f"parallel {self.parallelization}")
        if self.on_failure is not None:
            parts.append(f"failures to {self.on_failure.logical_name}")
        if self.filters:
            parts.append(f"{len(self.filters)} filter(s)")
        if self.tumbling_window_s:
            parts.append(f"tumbling window {self.tumbling_window_s}s")
        return ", ".join(parts)

    def arguments(self) -> tuple[tuple[str, ...], str]:
        if self.batch:
            return ("batch", "context"), (f"with batch=True a {self.kind} trigger calls it once per batch "
                                          "with (batch, context)")
        return self.passes, (f"a {self.kind} trigger calls it once per record with (record, context), "
                             "unless batch=True (then once per batch with (batch, context))")

    def check_handler(self, fn: Callable[..., Any], subject: str) -> None:
        found = first_annotation(fn)
        if found is None:
            return
        name, annotation = found
        if annotation.endswith("Batch") and not self.batch:
            raise ConfigError(subject, "fn", f"its parameter {name!r} is annotated {annotation}, but "
                              "without batch=True the handler is called once per record",
                              "take one record, or pass batch=True to get the whole batch")
        if annotation.endswith("Record") and self.batch:
            raise ConfigError(subject, "fn", f"its parameter {name!r} is annotated {annotation}, but "
                              "with batch=True the handler is called once per batch",
                              "take the batch and loop over it, or drop batch=True")


def _whole(subject: str, argument: str, value: object, low: int, high: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(subject, argument, f"{value!r} is not a whole number",
                          f"pass an int in {low}-{high}")
    if not low <= value <= high:
        raise ConfigError(subject, argument, f"{value!r} is outside {low}-{high}, the range Lambda "
                          f"accepts for {what}", f"choose {low}-{high}")
    return value


def check_filters(
    subject: str, filters: Iterable[Mapping[str, Any]] | None, keys: set[str]
) -> tuple[str, ...]:
    """Lambda's filter criteria: up to 5 patterns, each a dict on the record's ``keys``, as JSON."""
    if filters is None:
        return ()
    if isinstance(filters, Mapping):
        filters = [filters]
    if isinstance(filters, str | bytes) or not isinstance(filters, Iterable):
        raise ConfigError(subject, "filters", f"{filters!r} is not a list of filter patterns",
                          "pass a list of dicts such as [{'data': {'kind': ['click']}}]")
    out: list[str] = []
    for pattern in filters:
        if not isinstance(pattern, Mapping) or not pattern:
            raise ConfigError(subject, "filters", f"{pattern!r} is not a filter pattern",
                              "pass dicts such as {'data': {'kind': ['click']}}")
        unknown = sorted(set(pattern) - keys)
        if unknown:
            raise ConfigError(subject, "filters", f"the pattern selects on {unknown}, which the records "
                              "do not have", f"select on {', '.join(sorted(keys))}")
        check_filter_pattern(pattern, subject)
        try:
            text = json.dumps(pattern, sort_keys=True, separators=(",", ":"))
        except (TypeError, ValueError) as exc:
            raise ConfigError(subject, "filters", f"the pattern is not JSON ({exc})",
                              "use only dicts, lists, strings, numbers, booleans and None") from None
        if len(text) > MAX_FILTER_CHARS:
            raise ConfigError(subject, "filters", f"a pattern is {len(text)} characters; Lambda takes "
                              f"{MAX_FILTER_CHARS}", "shorten the pattern")
        out.append(text)
    if len(out) > MAX_FILTERS:
        raise ConfigError(subject, "filters", f"{len(out)} patterns; Lambda takes {MAX_FILTERS} per mapping",
                          "merge patterns (a list of values matches any of them)")
    return tuple(out)


def stream_settings(
    subject: str, *, positions: tuple[str, ...], batch_size: int, batching_window_s: int,
    starting_position: str, starting_timestamp: float | None, bisect_on_error: bool,
    max_retries: int | None, max_record_age_s: int | None, parallelization: int,
    on_failure: Resource | None, batch: bool, model: type[Any] | None, tumbling_window_s: int = 0,
) -> dict[str, Any]:
    """The validated settings as keyword arguments of a StreamSettings subclass (filters apart)."""
    _whole(subject, "batch_size", batch_size, 1, MAX_BATCH, "a stream's batch size")
    _whole(subject, "batching_window_s", batching_window_s, 0, MAX_BATCHING_WINDOW_S, "the batching window")
    if starting_position not in positions:
        raise ConfigError(subject, "starting_position", f"{starting_position!r} is not a starting position "
                          "of this source", f"choose {' or '.join(repr(p) for p in positions)}")
    if starting_position == "at_timestamp":
        if starting_timestamp is None:
            raise ConfigError(subject, "starting_timestamp", "starting_position='at_timestamp' needs "
                              "the time to start at", "pass starting_timestamp= (Unix seconds)")
        if isinstance(starting_timestamp, bool) or not isinstance(starting_timestamp, int | float):
            raise ConfigError(subject, "starting_timestamp", f"{starting_timestamp!r} is not a time in "
                              "Unix seconds", "pass a number, such as datetime(...).timestamp()")
        starting_timestamp = float(starting_timestamp)
    elif starting_timestamp is not None:
        raise ConfigError(subject, "starting_timestamp", "a timestamp is read only at 'at_timestamp'",
                          "pass starting_position='at_timestamp', or drop starting_timestamp")
    for name, value in (("bisect_on_error", bisect_on_error), ("batch", batch)):
        if not isinstance(value, bool):
            raise ConfigError(subject, name, f"{value!r} is not True or False", "pass True or False")
    if max_retries is not None and max_retries != -1:
        _whole(subject, "max_retries", max_retries, 0, MAX_RETRIES, "maximum retry attempts")
    if max_record_age_s is not None and max_record_age_s != -1:
        _whole(subject, "max_record_age_s", max_record_age_s, MIN_RECORD_AGE_S, MAX_RECORD_AGE_S,
               "maximum record age (or -1)")
    _whole(subject, "parallelization", parallelization, 1, MAX_PARALLELIZATION, "the parallelization factor")
    if on_failure is not None and not (isinstance(on_failure, Resource) and on_failure.kind == "queue"):
        raise ConfigError(subject, "on_failure", f"{on_failure!r} is not a Queue",
                          "declare Queue('name') and pass it as on_failure=")
    if on_failure is not None and getattr(on_failure, "fifo", False):
        raise ConfigError(subject, "on_failure", f"{on_failure!r} is a FIFO queue, which Lambda refuses "
                          "as an on-failure destination", "pass a standard queue")
    if model is not None and not (isinstance(model, type) and hasattr(model, "model_validate")):
        raise ConfigError(subject, "model", f"{model!r} is not a pydantic model class",
                          "pass a subclass of pydantic.BaseModel")
    _whole(subject, "tumbling_window_s", tumbling_window_s, 0, MAX_TUMBLING_WINDOW_S, "a tumbling window")
    if tumbling_window_s and not batch:
        raise ConfigError(subject, "tumbling_window_s", "a tumbling window hands each invocation the "
                          "state the window's previous one returned, and a per-record handler has "
                          "nowhere to read or return it", "pass batch=True and keep the window's "
                          "aggregate in batch.state (batch.is_final marks the window's last invocation)")
    return dict(
        batch_size=batch_size, batching_window_s=batching_window_s, starting_position=starting_position,
        starting_timestamp=starting_timestamp, bisect_on_error=bisect_on_error,
        max_retries=None if max_retries == -1 else max_retries,
        max_record_age_s=None if max_record_age_s == -1 else max_record_age_s,
        parallelization=parallelization, on_failure=on_failure, batch=batch, model=model,
        tumbling_window_s=tumbling_window_s,
    )


# -- tumbling windows: what Lambda adds to a stream event ----------------------------------------


def window_of(arrival: float, seconds: int) -> tuple[float, float]:
    """The tumbling window (start, end; Unix seconds) holding a record that arrived at ``arrival``:
    windows of ``seconds`` each, starting at whole multiples of it (a 120 s window runs 07:04-07:06)."""
    start = arrival // seconds * seconds
    return start, start + seconds


def _stamp(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def window_event(
    records_event: dict[str, Any], *, window: tuple[float, float], state: Mapping[str, Any], shard_id: str,
    source_arn: str, final: bool, terminated_early: bool = False,
) -> dict[str, Any]:
    """A stream event (``{"Records": [...]}``) with the fields a tumbling window adds."""
    return {
        **records_event,
        "window": {"start": _stamp(window[0]), "end": _stamp(window[1])},
        "state": dict(state),
        "shardId": shard_id,
        "eventSourceARN": source_arn,
        "isFinalInvokeForWindow": final,
        "isWindowTerminatedEarly": terminated_early,
    }
