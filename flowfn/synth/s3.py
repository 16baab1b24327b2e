"""S3 triggers: the bucket's notification configuration and the permission S3 invokes with.

The naive template loops: the bucket's notification needs the function, S3 checks the permission
before it accepts the notification (so the bucket waits for the permission), and the permission's
SourceArn would need the bucket. Here the permission's SourceArn, the role's statements and the
environment all use the bucket's name as derived from the stack's id (see ``bucket_name_expr`` in
flowfn.synth.bucket), never a Ref to the bucket, so the bucket depends on the permission and
nothing depends back on the bucket.
"""

from __future__ import annotations

from typing import Any

from flowfn.errors import ConfigError
from flowfn.synth.bucket import bucket_arn
from flowfn.synth.context import Build, Wiring
from flowfn.synth.iam import Need, Target
from flowfn.synth.ids import ResourceId, label
from flowfn.synth.options import SynthOptions
from flowfn.synth.refs import ACCOUNT, getatt
from flowfn.triggers.base import Trigger
from flowfn.triggers.s3 import S3Trigger


def wire_s3(w: Wiring, opts: SynthOptions) -> None:
    """Permission for S3 to invoke the function, and one notification entry per event type."""
    trigger = w.handler.trigger
    assert isinstance(trigger, S3Trigger)
    bucket = trigger.bucket
    if bucket.existing:
        raise ConfigError(
            f"handler {w.handler.name!r}", "bucket",
            f"{bucket!r} exists outside this app, and CloudFormation can set notifications only on a "
            "bucket its own stack creates",
            f"trigger on a bucket flowfn creates (Bucket({bucket.logical_name!r}) without existing=), "
            "or point the existing bucket's notification at the deployed function yourself",
        )
    permission = w.add("Permission", "AWS::Lambda::Permission", {
        "Action": "lambda:InvokeFunction",
        "FunctionName": getatt(w.function_id, "Arn"),
        "Principal": "s3.amazonaws.com",
        "SourceAccount": ACCOUNT,
        "SourceArn": bucket_arn(w.build, bucket),
    })
    bucket_id = w.build.rid(bucket)
    rules = [{"Name": name, "Value": value}
             for name, value in (("prefix", trigger.prefix), ("suffix", trigger.suffix)) if value]
    for event in trigger.events:
        entry: dict[str, Any] = {"Event": event, "Function": w.function_arn_for_root()}
        if rules:
            entry["Filter"] = {"S3Key": {"Rules": rules}}
        w.build.notifications.setdefault(bucket_id, []).append(entry)
    w.build.depends.setdefault(bucket_id, []).append(permission)


def add_notifications(build: Build) -> None:
    """Attach each bucket's collected S3 notification entries."""
    for bucket_id, entries in build.notifications.items():
        props = build.resources[bucket_id]["Properties"]
        props["NotificationConfiguration"] = {"LambdaConfigurations": entries}


def s3_needs(trigger: Trigger) -> list[Need]:
    """Reading the objects it is told about."""
    assert isinstance(trigger, S3Trigger)
    pattern = trigger.prefix + "*" + trigger.suffix
    return [(("s3:GetObject",), Target("objects", trigger.bucket.logical_name, pattern))]


def s3_graph(trigger: Trigger, fn: str, rid: ResourceId) -> tuple[list[str], list[str]]:
    """The bucket into the function, labelled with the events and the key filter."""
    assert isinstance(trigger, S3Trigger)
    events = ", ".join(e.removeprefix("s3:") for e in trigger.events)
    keys = f" {trigger.prefix}*{trigger.suffix}" if trigger.prefix or trigger.suffix else ""
    return [], [f"  {rid(trigger.bucket)} -->|{label(events + keys)}| {fn}"]
