"""Least-privilege IAM for each function, as a pure function of the registry.

:func:`policy_for` says what a handler's role may do, on typed :class:`Target` s rather than ARNs:
the same policy renders into the template (with CloudFormation expressions for names that exist
only once deployed) and into concrete ARNs (:func:`concrete_arn`), so a local check can hold a
handler's AWS calls to exactly what the deployed role allows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from flowfn.app import App
from flowfn.function import Handler
from flowfn.resources import Resource

__all__ = ["Need", "Policy", "Statement", "Target", "concrete_arn", "is_async", "policy_for"]

TargetKind = Literal["bucket", "objects", "queue", "topic", "eventbus", "log-group", "failed-events", "table",
                     "table-stream", "table-index", "stream"]

#: The queue that receives events a function failed to handle after Lambda's retries.
FAILED_EVENTS = "failed-events"

_LOG_ACTIONS = ("logs:CreateLogStream", "logs:PutLogEvents")


@dataclass(frozen=True)
class Target:
    """What a statement applies to: a bucket, objects in it, a queue, or the function's log group.

    ``name`` is the resource's logical name (the handler's name for a log group); ``pattern`` is
    the object-key pattern of ``objects`` (``incoming/*.jpg``).
    """

    kind: TargetKind
    name: str
    pattern: str = ""

    def describe(self) -> str:
        if self.kind == "objects":
            return f"objects {self.name}/{self.pattern}"
        if self.kind == "log-group":
            return "its log group"
        if self.kind == "failed-events":
            return "queue of failed events"
        return f"{self.kind} {self.name}"


#: Actions a function's role needs, on one target.
Need = tuple[tuple[str, ...], Target]


@dataclass(frozen=True)
class Statement:
    """One Allow statement. ``prefix_condition`` limits s3:ListBucket to keys under a prefix."""

    actions: tuple[str, ...]
    targets: tuple[Target, ...]
    prefix_condition: str = ""


@dataclass(frozen=True)
class Policy:
    """Everything a handler's role allows, in a stable order."""

    handler: str
    statements: tuple[Statement, ...]

    def document(self, arn: Callable[[Target], Any]) -> dict[str, Any]:
        """The IAM policy document, each target rendered by ``arn``."""
        out = []
        for st in self.statements:
            body: dict[str, Any] = {
                "Effect": "Allow",
                "Action": list(st.actions),
                "Resource": [arn(t) for t in st.targets],
            }
            if st.prefix_condition:
                body["Condition"] = {"StringLike": {"s3:prefix": [st.prefix_condition + "*"]}}
            out.append(body)
        return {"Version": "2012-10-17", "Statement": out}

    def rows(self) -> list[tuple[str, str]]:
        """(actions, targets) pairs for people, one per statement."""
        rows = []
        for st in self.statements:
            where = ", ".join(t.describe() for t in st.targets)
            if st.prefix_condition:
                where += f" (keys {st.prefix_condition}*)"
            rows.append((", ".join(st.actions), where))
        return rows


def is_async(handler: Handler) -> bool:
    """True for functions Lambda invokes asynchronously (S3 notifications, schedules)."""
    return handler.trigger.invocation == "async"


def policy_for(app: App, handler: Handler, *, failure_destination: bool = True) -> Policy:
    """What ``handler``'s role may do: write its logs, what its trigger needs, and its ``uses=``.

    Pure: depends only on the registry. ``failure_destination`` adds sending to the queue of
    failed events, for functions invoked asynchronously.
    """
    app.handler(handler.name)  # the handler must belong to the app
    merged: dict[tuple[tuple[str, ...], str], list[Target]] = {}

    def add(actions: tuple[str, ...], target: Target, condition: str = "") -> None:
        targets = merged.setdefault((actions, condition), [])
        if target not in targets:
            targets.append(target)

    add(_LOG_ACTIONS, Target("log-group", handler.name))
    # The kinds' modules build on this one.
    from flowfn.synth.kinds import kind_of
    from flowfn.synth.resource_kinds import resource_kind

    for actions, target in kind_of(handler.trigger).needs(handler.trigger):
        add(actions, target)
    for grant in handler.settings.uses:
        kind = resource_kind(grant.resource)
        target, condition = kind.grant_target(grant)
        add(kind.actions[grant.access], target, condition)
        for more in kind.more_targets(grant):
            add(kind.actions[grant.access], more, condition)
    if failure_destination and is_async(handler):
        failure = handler.settings.on_failure
        target = (Target("failed-events", FAILED_EVENTS) if failure is None
                  else Target("queue", failure.logical_name))
        add(("sqs:SendMessage",), target)
    statements = tuple(
        Statement(actions, tuple(targets), condition) for (actions, condition), targets in merged.items()
    )
    return Policy(handler.name, statements)


def concrete_arn(
    target: Target,
    physical: Mapping[tuple[str, str], str],
    *,
    region: str,
    account: str,
    partition: str = "aws",
) -> str:
    """The ARN ``target`` stands for, given physical names.

    ``physical`` maps ``("bucket", logical)`` to a bucket name, ``("queue", logical)`` (and
    ``("queue", "failed-events")``) to a queue name, and ``("log-group", handler)`` to a log group
    name.
    """
    if target.kind in ("bucket", "objects"):
        base = f"arn:{partition}:s3:::{physical[('bucket', target.name)]}"
        return base if target.kind == "bucket" else f"{base}/{target.pattern}"
    if target.kind in ("queue", "failed-events"):
        return f"arn:{partition}:sqs:{region}:{account}:{physical[('queue', target.name)]}"
    if target.kind in ("table", "table-stream", "table-index"):
        base = f"arn:{partition}:dynamodb:{region}:{account}:table/{physical[('table', target.name)]}"
        return {"table": base, "table-stream": f"{base}/stream/*", "table-index": f"{base}/index/*"}[
            target.kind]
    if target.kind == "stream":
        return f"arn:{partition}:kinesis:{region}:{account}:stream/{physical[('stream', target.name)]}"
    if target.kind in ("topic", "eventbus"):  # their physical name is their ARN
        return physical[(target.kind, target.name)]
    group = physical[("log-group", target.name)]
    return f"arn:{partition}:logs:{region}:{account}:log-group:{group}:*"


def resource_of(app: App, target: Target) -> Resource | None:
    """The declared resource a bucket, objects or queue target refers to."""
    from flowfn.synth.resource_kinds import resource_kind  # it builds on this module

    for res in app.all_resources():
        if res.logical_name == target.name and target.kind in resource_kind(res).target_kinds:
            return res
    return None
