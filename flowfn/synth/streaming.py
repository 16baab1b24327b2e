"""What the Kinesis and DynamoDB Streams wirings share: the event-source mapping and its needs."""

from __future__ import annotations

from typing import Any

from flowfn.synth.context import Wiring
from flowfn.synth.iam import Need, Target
from flowfn.synth.queue import queue_arn
from flowfn.synth.refs import Json, ref

_POSITIONS = {"latest": "LATEST", "trim_horizon": "TRIM_HORIZON", "at_timestamp": "AT_TIMESTAMP"}


def add_mapping(w: Wiring, trigger: Any, source_arn: Json) -> None:
    """The mapping that reads the stream, with every setting of the trigger."""
    props: dict[str, Any] = {
        "EventSourceArn": source_arn,
        "FunctionName": ref(w.function_id),
        "BatchSize": trigger.batch_size,
        "StartingPosition": _POSITIONS[trigger.starting_position],
        "FunctionResponseTypes": ["ReportBatchItemFailures"],
        "BisectBatchOnFunctionError": trigger.bisect_on_error,
        "MaximumRetryAttempts": -1 if trigger.max_retries is None else trigger.max_retries,
        "MaximumRecordAgeInSeconds": -1 if trigger.max_record_age_s is None else trigger.max_record_age_s,
        "ParallelizationFactor": trigger.parallelization,
        "Enabled": True,
    }
    if trigger.starting_timestamp is not None:
        props["StartingPositionTimestamp"] = trigger.starting_timestamp
    if trigger.batching_window_s:
        props["MaximumBatchingWindowInSeconds"] = trigger.batching_window_s
    if trigger.tumbling_window_s:
        props["TumblingWindowInSeconds"] = trigger.tumbling_window_s
    if trigger.on_failure is not None:
        props["DestinationConfig"] = {"OnFailure": {"Destination": queue_arn(w.build, trigger.on_failure)}}
    if trigger.filters:
        props["FilterCriteria"] = {"Filters": [{"Pattern": p} for p in trigger.filters]}
    w.add("Mapping", "AWS::Lambda::EventSourceMapping", props)


def failure_needs(trigger: Any) -> list[Need]:
    """Sending a failed batch's metadata to the on-failure queue (the function's role sends it)."""
    if trigger.on_failure is None:
        return []
    return [(("sqs:SendMessage",), Target("queue", trigger.on_failure.logical_name))]


def mapping_label(trigger: Any) -> str:
    """The edge label of a stream trigger in ``flowfn graph``."""
    label = f"batch {trigger.batch_size}" + (", bisect" if trigger.bisect_on_error else "")
    return label + (f", window {trigger.tumbling_window_s}s" if trigger.tumbling_window_s else "")
