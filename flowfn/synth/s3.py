"""S3 triggers: the bucket's notification configuration and the permission S3 invokes with.

The naive template loops: the bucket's notification needs the function, S3 checks the permission
before it accepts the notification (so the bucket waits for the permission), and the permission's
SourceArn would need the bucket. Here the permission's SourceArn, the role's statements and the
environment all use the bucket's name as derived from the stack's id (see
``Build.bucket_name_expr``), never a Ref to the bucket, so the bucket depends on the permission and
nothing depends back on the bucket.
"""

from __future__ import annotations

from typing import Any

from flowfn.errors import ConfigError
from flowfn.synth.context import Wiring
from flowfn.synth.options import SynthOptions
from flowfn.synth.refs import ACCOUNT, getatt
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
        "SourceArn": w.build.bucket_arn(bucket),
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
