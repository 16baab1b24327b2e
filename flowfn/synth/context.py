"""The state one synthesis fills: the root stack's own parts, and one unit per handler.

Wiring modules receive a :class:`Wiring` context for their handler. It hands out expressions for
shared things (bucket names, queue ARNs, the code asset) as placeholders, so a unit reads the same
whether it ends up in the root stack or in a nested one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from flowfn.app import App
from flowfn.errors import FlowfnError
from flowfn.function import Handler
from flowfn.resources import Bucket, Queue, Resource
from flowfn.synth.ids import short_hash, unique_ids
from flowfn.synth.refs import ACCOUNT, PARTITION, REGION, STACK_SUFFIX, Exported, Json, Shared, join

_QUEUE_ARN = re.compile(r"^arn:(?P<partition>aws[a-z-]*):sqs:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):"
                        r"(?P<name>.+)$")
_QUEUE_URL = re.compile(r"^https?://(?P<host>[^/]+)/(?P<account>\d{12})/(?P<name>[^/]+)$")
_BUCKET_PREFIX_MAX = 50  # 63 minus "-" and the 12-character stack suffix


def resource_stems(app: App) -> dict[tuple[str, str], str]:
    """(kind, logical name) -> an id stem unique among the app's resources of that kind."""
    stems: dict[tuple[str, str], str] = {}
    for kind in ("bucket", "queue"):
        names = [r.logical_name for r in app.all_resources() if r.kind == kind]
        stems.update({(kind, name): stem for name, stem in unique_ids(names).items()})
    return stems


class SynthError(FlowfnError):
    """An app that cannot become a template: a CloudFormation limit, or wiring AWS cannot express."""


@dataclass
class Unit:
    """The resources one handler owns; they move together into a stack."""

    handler: Handler
    resources: dict[str, Json] = field(default_factory=dict)


@dataclass
class Build:
    """Everything generated so far for one app."""

    app: App
    app_name: str
    handler_ids: dict[str, str]
    resource_ids: dict[tuple[str, str], str]
    parameters: dict[str, Json] = field(default_factory=dict)
    resources: dict[str, Json] = field(default_factory=dict)
    outputs: dict[str, Json] = field(default_factory=dict)
    #: Outputs left out first when the root stack would pass CloudFormation's 200.
    optional_outputs: set[str] = field(default_factory=set)
    #: What each Shared key stands for in the root stack.
    shared: dict[str, Json] = field(default_factory=dict)
    units: list[Unit] = field(default_factory=list)
    #: Root resource id -> handler-owned resource ids it must wait for.
    depends: dict[str, list[str]] = field(default_factory=dict)
    #: Bucket id -> its S3 notification entries (with Exported function ARNs).
    notifications: dict[str, list[Json]] = field(default_factory=dict)

    @classmethod
    def start(cls, app: App) -> Build:
        name = app.name or "app"
        handler_ids = unique_ids(h.name for h in app.handlers)
        resource_ids = {key: stem + key[0].capitalize() for key, stem in resource_stems(app).items()}
        return cls(app=app, app_name=name, handler_ids=handler_ids, resource_ids=resource_ids)

    def share(self, key: str, value: Json) -> Shared:
        self.shared.setdefault(key, value)
        return Shared(key)

    def rid(self, res: Resource) -> str:
        """The logical id of a declared resource."""
        return self.resource_ids[(res.kind, res.logical_name)]

    # -- names and ARNs of declared resources --------------------------------------------------

    def bucket_name_expr(self, bucket: Bucket) -> Json:
        """A managed bucket's name: derived from the app, the bucket and the stack's id.

        Known before the bucket exists, so notifications, permissions and environments can use it
        without the circular dependency a Ref to the bucket would create.
        """
        text = re.sub(r"[^a-z0-9-]+", "-", f"{self.app_name}-{bucket.logical_name}".lower())
        text = re.sub(r"-{2,}", "-", text).strip("-.")
        if len(text) > _BUCKET_PREFIX_MAX:
            text = text[: _BUCKET_PREFIX_MAX - 9].rstrip("-") + "-" + short_hash(text)
        if text.startswith(("xn--", "sthree-", "amzn-s3-demo-")):
            text = "b-" + text[: _BUCKET_PREFIX_MAX - 2]
        return join([text, STACK_SUFFIX], "-")

    def bucket_name(self, bucket: Bucket) -> Json:
        if bucket.existing:
            return bucket.existing
        return self.share(self.rid(bucket) + "Name", self.bucket_name_expr(bucket))

    def bucket_arn(self, bucket: Bucket, suffix: str = "") -> Json:
        return join(["arn:", PARTITION, ":s3:::", self.bucket_name(bucket), suffix])

    def queue_url(self, queue: Queue) -> Json:
        if queue.existing is None:
            return self.share(self.rid(queue) + "Url", {"Ref": self.rid(queue)})
        match = _QUEUE_URL.match(queue.existing)
        if match:
            return queue.existing
        arn = _QUEUE_ARN.match(queue.existing)
        if arn:
            suffix = "amazonaws.com.cn" if arn["partition"] == "aws-cn" else "amazonaws.com"
            return f"https://sqs.{arn['region']}.{suffix}/{arn['account']}/{arn['name']}"
        return join(["https://sqs.", REGION, ".", {"Ref": "AWS::URLSuffix"}, "/", ACCOUNT, "/",
                     queue.existing])

    def queue_arn(self, queue: Queue) -> Json:
        if queue.existing is None:
            return self.share(self.rid(queue) + "Arn", {"Fn::GetAtt": [self.rid(queue), "Arn"]})
        if _QUEUE_ARN.match(queue.existing):
            return queue.existing
        match = _QUEUE_URL.match(queue.existing)
        region: Json = REGION
        account: Json = ACCOUNT
        if match:
            account = match["account"]
            host = match["host"].split(".")
            if len(host) > 2 and host[0] == "sqs":
                region = host[1]
        return join(["arn:", PARTITION, ":sqs:", region, ":", account, ":", queue.existing_name])

    def physical_name(self, res: Resource) -> Json:
        """What a function's environment carries for ``res``: bucket name or queue URL."""
        if isinstance(res, Bucket):
            return self.bucket_name(res)
        assert isinstance(res, Queue)
        return self.queue_url(res)


@dataclass
class Wiring:
    """What wiring code for one handler works with."""

    build: Build
    unit: Unit

    @property
    def handler(self) -> Handler:
        return self.unit.handler

    @property
    def stem(self) -> str:
        return self.build.handler_ids[self.handler.name]

    def id(self, suffix: str) -> str:
        """The logical id of one of this handler's resources: ``ResizeFunction``, ``ResizeRole``."""
        return self.stem + suffix

    @property
    def function_id(self) -> str:
        return self.id("Function")

    def add(self, suffix: str, type_: str, properties: dict[str, Any], **attributes: Any) -> str:
        logical_id = self.id(suffix)
        body: dict[str, Any] = {"Type": type_, "Properties": properties}
        body.update(attributes)
        self.unit.resources[logical_id] = body
        return logical_id

    def function_arn_for_root(self) -> Exported:
        return Exported(self.function_id, "Arn")
