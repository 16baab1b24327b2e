"""Uploading an app's assets: code zip, dependency layers, nested templates and (when too large
to pass inline) the root template.

Asset names carry a hash of their content, so an object already at its key is the same asset and
is never uploaded again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from flowfn.deploy.aws import Aws, UserError, error_code
from flowfn.deploy.outputs import stack_resources

__all__ = ["BOOTSTRAP_OUTPUT", "DEFAULT_BOOTSTRAP_STACK", "INLINE_TEMPLATE_BYTES", "Uploaded", "asset_bucket",
           "template_url", "upload_assets", "upload_template"]

#: The stack ``flowfn bootstrap`` creates, and the output naming its bucket.
DEFAULT_BOOTSTRAP_STACK = "flowfn-bootstrap"
BOOTSTRAP_OUTPUT = "AssetBucketName"
BOOTSTRAP_RESOURCE = "AssetBucket"
#: Largest template CloudFormation takes inline (TemplateBody); larger ones go through S3.
INLINE_TEMPLATE_BYTES = 51_200


@dataclass
class Uploaded:
    """Which asset keys this deploy uploaded and which were there already."""

    uploaded: list[str] = field(default_factory=list)
    present: list[str] = field(default_factory=list)


def asset_bucket(aws: Aws, named: str | None, bootstrap_stack: str = DEFAULT_BOOTSTRAP_STACK) -> str:
    """The bucket assets go to: the one named, else the bootstrap stack's. Checks that it exists."""
    bucket = named
    if bucket is None:
        try:
            stacks = aws.cloudformation.describe_stacks(StackName=bootstrap_stack)["Stacks"]
        except Exception as exc:
            if error_code(exc) != "ValidationError":
                raise
            stacks = []
        outputs = {o["OutputKey"]: o["OutputValue"] for s in stacks for o in s.get("Outputs") or []}
        bucket = outputs.get(BOOTSTRAP_OUTPUT)
        if bucket is None and stacks:  # an emulator that reports no outputs: the resource itself
            bucket = stack_resources(aws, bootstrap_stack).get(BOOTSTRAP_RESOURCE, ("", ""))[1] or None
        if bucket is None:
            raise UserError(
                f"no asset bucket: the stack {bootstrap_stack!r} that `flowfn bootstrap` creates is not in "
                f"{aws.region}. Fix: run `flowfn bootstrap --region {aws.region}` once, or name a bucket "
                "you own with --asset-bucket."
            )
    try:
        aws.s3.head_bucket(Bucket=bucket)
    except Exception as exc:
        code = error_code(exc)
        if code in ("404", "NoSuchBucket"):
            raise UserError(f"the asset bucket {bucket!r} does not exist. Fix: run `flowfn bootstrap`, or "
                            "name an existing bucket with --asset-bucket.") from None
        if code in ("403", "AccessDenied"):
            raise UserError(f"the asset bucket {bucket!r} is not yours to write to (403). Fix: name a "
                            "bucket of this account with --asset-bucket, or run `flowfn bootstrap`."
                            ) from None
        raise
    return bucket


def _exists(aws: Aws, bucket: str, key: str) -> bool:
    try:
        aws.s3.head_object(Bucket=bucket, Key=key)
    except Exception as exc:
        if error_code(exc) in ("404", "NoSuchKey", "NotFound"):
            return False
        raise
    return True


def upload_assets(aws: Aws, bucket: str, prefix: str, assets: Mapping[str, bytes],
                  on_upload: Callable[[str, int], None] = lambda key, size: None) -> Uploaded:
    """Put each asset (by file name) at ``prefix + name`` unless an object is there already."""
    done = Uploaded()
    for name, data in sorted(assets.items()):
        key = prefix + name
        if _exists(aws, bucket, key):
            done.present.append(key)
            continue
        on_upload(key, len(data))
        aws.s3.put_object(Bucket=bucket, Key=key, Body=data)
        done.uploaded.append(key)
    return done


def template_url(aws: Aws, bucket: str, key: str) -> str:
    """The https URL CloudFormation reads an uploaded template from."""
    suffix = "amazonaws.com.cn" if aws.region.startswith("cn-") else "amazonaws.com"
    return f"https://{bucket}.s3.{aws.region}.{suffix}/{key}"


def upload_template(aws: Aws, bucket: str, prefix: str, body: bytes, ext: str) -> str:
    """Upload a root template too large to pass inline, content-addressed; returns its URL."""
    key = f"{prefix}template-{hashlib.sha256(body).hexdigest()[:16]}.{ext}"
    if not _exists(aws, bucket, key):
        aws.s3.put_object(Bucket=bucket, Key=key, Body=body)
    return template_url(aws, bucket, key)
