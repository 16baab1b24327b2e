"""Deleting an app's stack, and what to do with the buckets it leaves behind.

flowfn's buckets have ``DeletionPolicy: Retain``: deleting the stack keeps them, so their objects
are never lost by accident. After the stack is gone, a kept bucket that is empty is deleted; one
that still holds objects is reported and kept, unless emptying was asked for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flowfn.deploy.aws import Aws, error_code

__all__ = ["BucketLeft", "Cleanup", "bucket_objects", "clean_buckets", "empty_bucket", "stack_buckets"]


@dataclass(frozen=True)
class BucketLeft:
    """A bucket of the stack, and how many objects (versions included) it holds."""

    name: str
    objects: int


@dataclass
class Cleanup:
    """What happened to the stack's buckets once it was deleted."""

    deleted: list[str] = field(default_factory=list)
    emptied: list[BucketLeft] = field(default_factory=list)
    kept: list[BucketLeft] = field(default_factory=list)


def stack_buckets(aws: Aws, stack: str) -> list[str]:
    """Physical names of the S3 buckets in the stack (nested stacks included)."""
    out: list[str] = []
    paginator = aws.cloudformation.get_paginator("list_stack_resources")
    for page in paginator.paginate(StackName=stack):
        for item in page.get("StackResourceSummaries") or []:
            physical = item.get("PhysicalResourceId")
            if item["ResourceType"] == "AWS::S3::Bucket" and physical:
                out.append(str(physical))
            elif item["ResourceType"] == "AWS::CloudFormation::Stack" and physical:
                out += stack_buckets(aws, str(physical))
    return sorted(set(out))


def bucket_objects(aws: Aws, bucket: str, limit: int = 1000) -> int | None:
    """How many objects and versions the bucket holds (up to ``limit``); None when it is gone."""
    try:
        page = aws.s3.list_object_versions(Bucket=bucket, MaxKeys=limit)
    except Exception as exc:
        if error_code(exc) in ("NoSuchBucket", "404"):
            return None
        raise
    return len(page.get("Versions") or []) + len(page.get("DeleteMarkers") or [])


def empty_bucket(aws: Aws, bucket: str) -> int:
    """Delete every object, version and delete marker of the bucket; returns how many."""
    removed = 0
    paginator = aws.s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket):
        items = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                 for v in (page.get("Versions") or []) + (page.get("DeleteMarkers") or [])]
        for start in range(0, len(items), 1000):
            chunk = items[start:start + 1000]
            aws.s3.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
            removed += len(chunk)
    return removed


def clean_buckets(aws: Aws, buckets: list[str], *, empty: bool,
                  on_bucket: Callable[[str], None] = lambda b: None) -> Cleanup:
    """After the stack is deleted: delete its kept buckets that are empty (or emptied, when
    ``empty``); keep and report the others."""
    done = Cleanup()
    for bucket in buckets:
        count = bucket_objects(aws, bucket)
        if count is None:
            continue  # CloudFormation deleted it
        on_bucket(bucket)
        if count and not empty:
            done.kept.append(BucketLeft(bucket, count))
            continue
        if count:
            done.emptied.append(BucketLeft(bucket, empty_bucket(aws, bucket)))
        aws.s3.delete_bucket(Bucket=bucket)
        done.deleted.append(bucket)
    return done
