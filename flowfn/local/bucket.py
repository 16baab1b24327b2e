"""Buckets in the emulator: named by their logical name (or the existing name), created once."""

from __future__ import annotations

from typing import Any

from flowfn.app import App
from flowfn.local.provision import Bindings
from flowfn.resources import Bucket, Resource


def bucket_name(res: Resource) -> str:
    """A bucket's local name: the existing bucket's name, or its logical name."""
    assert isinstance(res, Bucket)
    return res.existing or res.logical_name


def provision_buckets(app: App, out: Bindings, resources: list[Resource]) -> None:
    """Create the buckets that do not exist yet; record every bucket's name."""
    s3 = out.target.client("s3")
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    for bucket in resources:
        name = bucket_name(bucket)
        if name not in existing:
            kwargs: dict[str, Any] = {"Bucket": name}
            if out.target.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": out.target.region}
            s3.create_bucket(**kwargs)
        out.buckets[bucket.logical_name] = name


def bucket_physical(bindings: Bindings, res: Resource) -> str:
    """What a function's environment carries for a bucket: its name."""
    return bindings.buckets[res.logical_name]
