"""Buckets in a template: the bucket itself, its name and ARN, its grants' IAM, its graph node."""

from __future__ import annotations

import re

from flowfn.resources import Access, Bucket, Grant, Resource
from flowfn.synth.context import Build
from flowfn.synth.iam import Target
from flowfn.synth.ids import ResourceId, label, short_hash
from flowfn.synth.refs import PARTITION, STACK_SUFFIX, Json, join, ref

_BUCKET_PREFIX_MAX = 50  # 63 minus "-" and the 12-character stack suffix
_ENCRYPTION = {"ServerSideEncryptionConfiguration": [
    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]}
_BLOCK_PUBLIC = {"BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True,
                 "RestrictPublicBuckets": True}

#: The IAM actions of each grant on a bucket.
BUCKET_ACTIONS: dict[Access, tuple[str, ...]] = {
    Access.READ: ("s3:GetObject",),
    Access.WRITE: ("s3:PutObject", "s3:AbortMultipartUpload"),
    Access.DELETE: ("s3:DeleteObject",),
    Access.LIST: ("s3:ListBucket",),
}


def bucket_name_expr(build: Build, bucket: Bucket) -> Json:
    """A managed bucket's name: derived from the app, the bucket and the stack's id.

    Known before the bucket exists, so notifications, permissions and environments can use it
    without the circular dependency a Ref to the bucket would create.
    """
    text = re.sub(r"[^a-z0-9-]+", "-", f"{build.app_name}-{bucket.logical_name}".lower())
    text = re.sub(r"-{2,}", "-", text).strip("-.")
    if len(text) > _BUCKET_PREFIX_MAX:
        text = text[: _BUCKET_PREFIX_MAX - 9].rstrip("-") + "-" + short_hash(text)
    if text.startswith(("xn--", "sthree-", "amzn-s3-demo-")):
        text = "b-" + text[: _BUCKET_PREFIX_MAX - 2]
    return join([text, STACK_SUFFIX], "-")


def bucket_name(build: Build, res: Resource) -> Json:
    """The bucket's name (what a function's environment carries)."""
    assert isinstance(res, Bucket)
    if res.existing:
        return res.existing
    return build.share(build.rid(res) + "Name", bucket_name_expr(build, res))


def bucket_arn(build: Build, bucket: Bucket, suffix: str = "") -> Json:
    return join(["arn:", PARTITION, ":s3:::", bucket_name(build, bucket), suffix])


def declare_bucket(build: Build, res: Resource, rid: str) -> None:
    """An encrypted bucket with public access blocked, kept when the stack goes; its name as an output."""
    assert isinstance(res, Bucket)
    build.resources[rid] = {
        "Type": "AWS::S3::Bucket",
        "DeletionPolicy": "Retain",
        "UpdateReplacePolicy": "Retain",
        "Properties": {
            "BucketName": bucket_name_expr(build, res),
            "BucketEncryption": _ENCRYPTION,
            "PublicAccessBlockConfiguration": _BLOCK_PUBLIC,
            "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
        },
    }
    build.outputs[rid + "Name"] = {"Description": f"Name of bucket {res.logical_name}", "Value": ref(rid)}


def bucket_grant_target(grant: Grant) -> tuple[Target, str]:
    """The target of a grant on a bucket, and the key prefix a list is limited to."""
    if grant.access is Access.LIST:
        return Target("bucket", grant.resource.logical_name), grant.prefix
    return Target("objects", grant.resource.logical_name, grant.prefix + "*"), ""


def bucket_target_arn(build: Build, res: Resource, target: Target) -> Json:
    """The ARN a bucket or objects target renders to."""
    assert isinstance(res, Bucket)
    return bucket_arn(build, res, "/" + target.pattern if target.kind == "objects" else "")


def bucket_graph(res: Resource, rid: ResourceId, text: str) -> tuple[list[str], list[str]]:
    """A cylinder."""
    return [f"  {rid(res)}[({label(text)})]"], []
