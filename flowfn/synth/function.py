"""What every handler gets whatever its trigger: a role, a log group and the function itself."""

from __future__ import annotations

import json
from typing import Any

from flowfn.function import MAX_ENV_BYTES
from flowfn.synth.context import SynthError, Wiring
from flowfn.synth.iam import Policy, Target, is_async, resource_of
from flowfn.synth.options import SynthOptions
from flowfn.synth.refs import Json, Shared, getatt, ref
from flowfn.synth.resource_kinds import resource_kind

HANDLER_ENTRY = "flowfn.runtime.handler"
#: Shared keys of values every function needs.
ASSET_BUCKET, CODE_KEY, FAILED_EVENTS_ARN = "AssetBucket", "CodeKey", "FailedEventsArn"
#: Logical id of the queue that keeps events async functions failed on.
FAILED_EVENTS_ID = "FailedEvents"


def lambda_trust(service: str) -> dict[str, Any]:
    """A trust policy that admits only ``service``."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }


def layer_key(arch: str) -> str:
    return "DepsLayer" + ("Arm64" if arch == "arm64" else "X8664")


def environment(w: Wiring) -> dict[str, Json]:
    """FLOWFN_APP, FLOWFN_FUNCTION, FLOWFN_LOG_LEVEL, one variable per resource, the user's own."""
    h = w.handler
    origin = w.build.app.origin
    if origin is None:
        raise SynthError(f"{w.build.app!r} has no origin; load it with flowfn.loader.load_app(...) so "
                         "the function knows which module to import")
    env: dict[str, Json] = {
        "FLOWFN_APP": origin.target,
        "FLOWFN_FUNCTION": h.name,
        "FLOWFN_LOG_LEVEL": h.settings.log_level,
    }
    size = sum(len(k) + len(str(v)) for k, v in env.items())
    for res in h.resources():
        kind = resource_kind(res)
        env[res.env_key] = kind.physical(w.build, res)
        size += len(res.env_key) + kind.physical_max
    for key, value in h.settings.environment:
        env[key] = value
        size += len(key.encode()) + len(value.encode())
    if size > MAX_ENV_BYTES:
        raise SynthError(
            f"handler {h.name!r}: its environment may reach {size} bytes with the names flowfn adds "
            f"for {len(h.resources())} resources, over Lambda's {MAX_ENV_BYTES}; shorten its "
            "environment= values or split the handler"
        )
    return env


def _target_arn(w: Wiring, log_group: str, target: Target) -> Json:
    if target.kind == "log-group":
        return getatt(log_group, "Arn")
    if target.kind == "failed-events":
        return w.build.share(FAILED_EVENTS_ARN, getatt(FAILED_EVENTS_ID, "Arn"))
    res = resource_of(w.build.app, target)
    if res is not None:
        return resource_kind(res).target_arn(w.build, res, target)
    raise SynthError(f"handler {w.handler.name!r}: no declared resource {target.name!r}")


def wire_function(w: Wiring, opts: SynthOptions, layers: dict[str, str], policy: Policy) -> None:
    """Add the handler's log group, role (allowed ``policy``), function and, when it is invoked
    asynchronously, its retries."""
    h, s = w.handler, w.handler.settings
    log_group = w.add("LogGroup", "AWS::Logs::LogGroup", {"RetentionInDays": opts.log_retention_days},
                      DeletionPolicy="Delete", UpdateReplacePolicy="Delete")
    role = w.add("Role", "AWS::IAM::Role", {
        "AssumeRolePolicyDocument": lambda_trust("lambda.amazonaws.com"),
        "Policies": [{
            "PolicyName": "flowfn-function",
            "PolicyDocument": policy.document(lambda t: _target_arn(w, log_group, t)),
        }],
    })
    props: dict[str, Any] = {
        "Description": f"flowfn {w.build.app_name}: {h.trigger.describe()}"[:256],
        "Runtime": opts.runtime,
        "Handler": HANDLER_ENTRY,
        "Code": {"S3Bucket": Shared(ASSET_BUCKET), "S3Key": Shared(CODE_KEY)},
        "Role": getatt(role, "Arn"),
        "MemorySize": s.memory_mb,
        "Timeout": s.timeout_s,
        "Architectures": [s.architecture],
        "EphemeralStorage": {"Size": s.ephemeral_storage_mb},
        "Environment": {"Variables": environment(w)},
        "LoggingConfig": {"LogGroup": ref(log_group)},
    }
    if s.architecture in layers:
        props["Layers"] = [Shared(layer_key(s.architecture))]
    if s.reserved_concurrency is not None:
        props["ReservedConcurrentExecutions"] = s.reserved_concurrency
    w.add("Function", "AWS::Lambda::Function", props)
    if opts.failure_destination and is_async(h):
        destination: Json = Shared(FAILED_EVENTS_ARN)
        if s.on_failure is not None:
            queue = s.on_failure
            destination = resource_kind(queue).target_arn(w.build, queue, Target("queue", queue.logical_name))
        config: dict[str, Any] = {
            "FunctionName": ref(w.function_id),
            "Qualifier": "$LATEST",
            "MaximumRetryAttempts": 2 if s.retries is None else s.retries,
            "DestinationConfig": {"OnFailure": {"Destination": destination}},
        }
        if s.max_event_age_s is not None:
            config["MaximumEventAgeInSeconds"] = s.max_event_age_s
        w.add("InvokeConfig", "AWS::Lambda::EventInvokeConfig", config)


def scheduler_input() -> Json:
    """What EventBridge Scheduler passes the function: the shape of a scheduled event."""
    body = {
        "version": "0", "id": "<aws.scheduler.execution-id>", "detail-type": "Scheduled Event",
        "source": "aws.scheduler", "account": "${AWS::AccountId}",
        "time": "<aws.scheduler.scheduled-time>", "region": "${AWS::Region}",
        "resources": ["<aws.scheduler.schedule-arn>"], "detail": {},
    }
    return {"Fn::Sub": json.dumps(body, sort_keys=True, separators=(",", ":"))}


__all__ = ["HANDLER_ENTRY", "environment", "lambda_trust", "wire_function"]
