"""What the root stack owns: buckets, queues, the HTTP API, dependency layers, asset parameters."""

from __future__ import annotations

from typing import Any

from flowfn.synth.context import Build
from flowfn.synth.function import ASSET_BUCKET, CODE_KEY, FAILED_EVENTS_ID, layer_key
from flowfn.synth.options import SynthOptions
from flowfn.synth.refs import ref, sub
from flowfn.synth.resource_kinds import resource_kind

ASSET_PREFIX = "AssetPrefix"

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
        if not res.existing:
            resource_kind(res).declare(build, res, build.rid(res))


def add_failed_events(build: Build) -> None:
    """The queue that keeps events asynchronously invoked functions failed on, for 14 days."""
    build.resources[FAILED_EVENTS_ID] = {"Type": "AWS::SQS::Queue", "Properties": {
        "SqsManagedSseEnabled": True, "MessageRetentionPeriod": 1_209_600}}
    build.outputs[FAILED_EVENTS_ID + "Url"] = {
        "Description": "URL of the queue that keeps events S3 and schedule functions failed on",
        "Value": ref(FAILED_EVENTS_ID)}
