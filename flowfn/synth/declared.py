"""What the root stack owns: buckets, queues, the HTTP API, dependency layers, asset parameters."""

from __future__ import annotations

from typing import Any

from flowfn.resources import Bucket, Queue
from flowfn.synth.context import Build
from flowfn.synth.function import ASSET_BUCKET, CODE_KEY, FAILED_EVENTS_ID, layer_key
from flowfn.synth.options import SynthOptions
from flowfn.synth.refs import getatt, ref, sub

ASSET_PREFIX = "AssetPrefix"
_ENCRYPTION = {"ServerSideEncryptionConfiguration": [
    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]}
_BLOCK_PUBLIC = {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
                 "RestrictPublicBuckets": True}


def asset_key(name: str) -> dict[str, Any]:
    """The S3 key of an asset under the AssetPrefix parameter."""
    return sub("${" + ASSET_PREFIX + "}" + name)


def add_parameters(build: Build, code_asset: str, layers: dict[str, str], opts: SynthOptions) -> None:
    """The asset location parameters, the layer per architecture, and the shared asset values."""
    build.parameters[ASSET_BUCKET] = {
        "Type": "String",
        "Description": "S3 bucket that holds this app's assets (code zip, layers, nested templates).",
        "MinLength": 3,
    }
    build.parameters[ASSET_PREFIX] = {
        "Type": "String",
        "Default": "",
        "Description": "Key prefix of the assets in AssetBucket, for example 'myapp/'.",
    }
    build.share(ASSET_BUCKET, ref(ASSET_BUCKET))
    build.share(CODE_KEY, asset_key(code_asset))
    for arch, name in sorted(layers.items()):
        layer = layer_key(arch)
        build.resources[layer] = {"Type": "AWS::Lambda::LayerVersion", "Properties": {
            "Description": f"flowfn {build.app_name}: dependencies for {opts.runtime} on {arch}",
            "Content": {"S3Bucket": ref(ASSET_BUCKET), "S3Key": asset_key(name)},
            "CompatibleRuntimes": [opts.runtime],
            "CompatibleArchitectures": [arch],
        }}
        build.share(layer, ref(layer))


def add_declared(build: Build) -> None:
    """Managed buckets and queues (each queue before its DLQ's RedrivePolicy needs it), outputs."""
    for res in build.app.all_resources():
        if res.existing:
            continue
        rid = build.rid(res)
        if isinstance(res, Bucket):
            build.resources[rid] = {
                "Type": "AWS::S3::Bucket",
                "DeletionPolicy": "Retain",
                "UpdateReplacePolicy": "Retain",
                "Properties": {
                    "BucketName": build.bucket_name_expr(res),
                    "BucketEncryption": _ENCRYPTION,
                    "PublicAccessBlockConfiguration": _BLOCK_PUBLIC,
                    "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                },
            }
            build.outputs[rid + "Name"] = {"Description": f"Name of bucket {res.logical_name}",
                                           "Value": ref(rid)}
        elif isinstance(res, Queue):
            props: dict[str, Any] = {
                "SqsManagedSseEnabled": True,
                "MessageRetentionPeriod": res.retention_s,
                "VisibilityTimeout": build.app.visibility_timeout(res),
            }
            if res.delay_s:
                props["DelaySeconds"] = res.delay_s
            if res.fifo:
                props["FifoQueue"] = True
                if res.content_based_deduplication:
                    props["ContentBasedDeduplication"] = True
            if res.dlq is not None and res.max_receive_count is not None:
                props["RedrivePolicy"] = {"deadLetterTargetArn": getatt(build.rid(res.dlq), "Arn"),
                                          "maxReceiveCount": res.max_receive_count}
            build.resources[rid] = {"Type": "AWS::SQS::Queue", "Properties": props}
            build.outputs[rid + "Url"] = {"Description": f"URL of queue {res.logical_name}",
                                          "Value": ref(rid)}
            if res.is_dlq:
                build.optional_outputs.add(rid + "Url")


def add_failed_events(build: Build) -> None:
    """The queue that keeps events asynchronously invoked functions failed on, for 14 days."""
    build.resources[FAILED_EVENTS_ID] = {"Type": "AWS::SQS::Queue", "Properties": {
        "SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1_209_600}}
    build.outputs[FAILED_EVENTS_ID + "Url"] = {
        "Description": "URL of the queue that keeps events S3 and schedule functions failed on",
        "Value": ref(FAILED_EVENTS_ID)}
