"""The physical names of an app's resources in the emulator, and removing them again.

Locally a resource's physical name is its logical name (an existing resource keeps the name it
was declared with), so ``aws s3 ls`` and the mirror folders read naturally. Each resource kind
creates its own (``flowfn.local.resource_kinds``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flowfn.function import Handler
from flowfn.local.emulator import AwsTarget
from flowfn.resources import Resource

__all__ = ["Bindings", "teardown"]


@dataclass
class Bindings:
    """Physical names of an app's resources in one emulator."""

    target: AwsTarget
    buckets: dict[str, str] = field(default_factory=dict)
    queue_urls: dict[str, str] = field(default_factory=dict)
    queue_arns: dict[str, str] = field(default_factory=dict)
    #: Other kinds' local names, by (kind, logical name): a table's or stream's name.
    names: dict[tuple[str, str], str] = field(default_factory=dict)
    #: ARNs by (kind, logical name): a table's stream, a stream, a topic, an event bus.
    arns: dict[tuple[str, str], str] = field(default_factory=dict)

    def physical(self, resource: Resource) -> str:
        """The bucket name or queue URL bound to ``resource``."""
        from flowfn.local.resource_kinds import RESOURCES  # the kinds' modules build on this one

        return RESOURCES[type(resource)].physical(self, resource)

    def resource_env(self, handler: Handler) -> dict[str, str]:
        """``env_key -> physical name`` for the resources ``handler`` is triggered by or granted."""
        return {res.env_key: self.physical(res) for res in handler.resources()}


def teardown(bindings: Bindings, extra_queues: list[str] | None = None) -> None:
    """Delete the buckets (with every object) and queues of ``bindings`` from the emulator."""
    s3 = bindings.target.client("s3")
    sqs = bindings.target.client("sqs")
    for name in bindings.buckets.values():
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            doomed = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                      for v in (*page.get("Versions", []), *page.get("DeleteMarkers", []))]
            if doomed:
                s3.delete_objects(Bucket=name, Delete={"Objects": doomed, "Quiet": True})
        s3.delete_bucket(Bucket=name)
    for url in (*bindings.queue_urls.values(), *(extra_queues or [])):
        sqs.delete_queue(QueueUrl=url)
