"""Change sets: create one for a stack, wait until CloudFormation has worked it out, read and
classify its changes, and clear it away when it is not executed.

A change that replaces or removes a stateful resource (a bucket, table, stream or queue) loses
what it holds; :meth:`Change.warning` says so before anything is executed.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flowfn.deploy.aws import Aws, DeployError, UserError, error_code, error_message

__all__ = ["STATEFUL", "Change", "Plan", "check_deployable", "create_plan", "discard", "stack_state"]

#: Resource types whose replacement or removal loses data, and what to call them.
STATEFUL = {
    "AWS::S3::Bucket": "bucket",
    "AWS::DynamoDB::Table": "table",
    "AWS::Kinesis::Stream": "stream",
    "AWS::SQS::Queue": "queue",
}
#: Seconds between two looks at a change set being worked out.
POLL_SECONDS = 2.0
#: What CloudFormation (and moto) say of a change set that would change nothing.
_NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
_STUCK = "ROLLBACK_COMPLETE"


@dataclass(frozen=True)
class Change:
    """One resource change of a change set."""

    action: str  # Add, Modify, Remove, Import, Dynamic
    logical_id: str
    resource_type: str
    physical_id: str = ""
    replacement: str = ""  # True, False, Conditional, or '' when CloudFormation does not say

    @property
    def replaces(self) -> bool:
        """True when the resource is (or may be) replaced by a new one."""
        return self.action == "Modify" and self.replacement in ("True", "Conditional")

    def warning(self) -> str | None:
        """What is lost when a stateful resource is replaced or removed, else None."""
        kind = STATEFUL.get(self.resource_type)
        if kind is None or not (self.replaces or self.action == "Remove"):
            return None
        name = f"{kind} {self.logical_id}" + (f" ({self.physical_id})" if self.physical_id else "")
        if self.action == "Remove":
            return (f"the {name} leaves the stack: CloudFormation deletes it with what it holds, unless "
                    "its DeletionPolicy keeps it")
        may = "may be" if self.replacement == "Conditional" else "is"
        return (f"the {name} {may} replaced by a new, empty one: what it holds stays behind in the old one "
                "or is lost")

    def line(self) -> str:
        """``+ Add     UploadsBucket  AWS::S3::Bucket``, replacements called out."""
        mark = {"Add": "+", "Modify": "~", "Remove": "-"}.get(self.action, "*")
        text = f"{mark} {self.action:<7} {self.logical_id}  {self.resource_type}"
        if self.replaces:
            text += "  (replacement)" if self.replacement == "True" else "  (may be replaced)"
        return text


@dataclass(frozen=True)
class Plan:
    """A change set CloudFormation has worked out. ``changes`` is empty when there are none."""

    stack: str
    stack_id: str
    name: str
    kind: str  # CREATE or UPDATE
    changes: tuple[Change, ...]

    @property
    def warnings(self) -> list[str]:
        return [w for c in self.changes if (w := c.warning()) is not None]

    def counts(self) -> str:
        """``3 to add, 1 to modify (1 replaced), 0 to remove``."""
        add = sum(c.action == "Add" for c in self.changes)
        mod = sum(c.action == "Modify" for c in self.changes)
        rem = sum(c.action == "Remove" for c in self.changes)
        rep = sum(c.replaces for c in self.changes)
        return f"{add} to add, {mod} to modify" + (f" ({rep} replaced)" if rep else "") + f", {rem} to remove"


def stack_state(aws: Aws, stack: str) -> dict[str, Any] | None:
    """The stack's description, or None when no stack of that name exists (or it was deleted)."""
    try:
        found = aws.cloudformation.describe_stacks(StackName=stack)["Stacks"]
    except Exception as exc:
        if error_code(exc) == "ValidationError" and "does not exist" in error_message(exc):
            return None
        raise
    if not found or found[0]["StackStatus"] == "DELETE_COMPLETE":
        return None
    return dict(found[0])


def check_deployable(state: dict[str, Any] | None, stack: str, clear: str) -> str:
    """The change set type for a stack in ``state``; UserError when it cannot take one now.

    ``clear`` is the command that deletes the stack, for the message about a failed first create.
    """
    if state is None:
        return "CREATE"
    status = str(state["StackStatus"])
    if status == _STUCK:
        raise UserError(
            f"the stack {stack!r} is in ROLLBACK_COMPLETE: its first create failed and was rolled back, and "
            f"CloudFormation cannot update a stack in that state. Fix: delete it with `{clear}`, then deploy "
            "again."
        )
    if status == "REVIEW_IN_PROGRESS":  # created by a change set that was never executed
        return "CREATE"
    if status.endswith("_IN_PROGRESS"):
        raise UserError(f"the stack {stack!r} is busy ({status}). Fix: wait for that operation to end "
                        "(the stack's events in the CloudFormation console show it), then deploy again.")
    if status in ("DELETE_FAILED", "ROLLBACK_FAILED", "UPDATE_ROLLBACK_FAILED"):
        raise UserError(f"the stack {stack!r} is in {status}. Fix: resolve it in the CloudFormation console "
                        f"(continue the rollback, or delete with `{clear}`), then deploy again.")
    return "UPDATE"


def _changes(described: list[dict[str, Any]]) -> tuple[Change, ...]:
    out = []
    for item in described:
        rc = item.get("ResourceChange") or {}
        out.append(Change(action=str(rc.get("Action", "")), logical_id=str(rc.get("LogicalResourceId", "")),
                          resource_type=str(rc.get("ResourceType", "")),
                          physical_id=str(rc.get("PhysicalResourceId", "") or ""),
                          replacement=str(rc.get("Replacement", "") or "")))
    return tuple(out)


def create_plan(
    aws: Aws,
    stack: str,
    kind: str,
    template: Mapping[str, str],
    parameters: Mapping[str, str],
    *,
    tags: Mapping[str, str] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    poll: float | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Plan | None:
    """Create a change set (``template`` is ``{"TemplateBody": ...}`` or ``{"TemplateURL": ...}``)
    and wait for it. Returns None when it would change nothing (the change set is deleted)."""
    cfn = aws.cloudformation
    name = "flowfn-" + now().strftime("%Y%m%d-%H%M%S")
    try:
        created = cfn.create_change_set(
            StackName=stack, ChangeSetName=name, ChangeSetType=kind, **template,
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"],
            Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()],
        )
    except Exception as exc:
        message = error_message(exc)
        if any(s in message for s in _NO_CHANGES):
            return None
        if error_code(exc) == "ValidationError":
            if "exceed" in message or "too large" in message.lower():
                raise UserError(f"CloudFormation refuses the template: {message}. Fix: split the app into "
                                "several apps, or declare fewer resources per app.") from None
            raise DeployError(f"CloudFormation refuses the change set for {stack!r}: {message}") from None
        raise
    change_set_id = str(created["Id"])
    stack_id = str(created.get("StackId") or stack)
    while True:
        described = cfn.describe_change_set(ChangeSetName=change_set_id, StackName=stack_id)
        status = str(described["Status"])
        if status in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
            sleep(POLL_SECONDS if poll is None else poll)
            continue
        break
    if status == "FAILED":
        reason = str(described.get("StatusReason", ""))
        cfn.delete_change_set(ChangeSetName=change_set_id, StackName=stack_id)
        if kind == "CREATE":
            _delete_review_stack(aws, stack_id)
        if any(s in reason for s in _NO_CHANGES):
            return None
        raise DeployError(f"CloudFormation could not work out the change set for {stack!r}: {reason}")
    items = list(described.get("Changes") or [])
    token = described.get("NextToken")
    while token:
        page = cfn.describe_change_set(ChangeSetName=change_set_id, StackName=stack_id, NextToken=token)
        items += page.get("Changes") or []
        token = page.get("NextToken")
    return Plan(stack, stack_id, change_set_id, kind, _changes(items))


def _delete_review_stack(aws: Aws, stack_id: str) -> None:
    state = stack_state(aws, stack_id)
    if state is not None and state["StackStatus"] == "REVIEW_IN_PROGRESS":
        aws.cloudformation.delete_stack(StackName=stack_id)


def discard(aws: Aws, plan: Plan) -> None:
    """Delete an unexecuted change set, and the empty stack a CREATE change set made for it."""
    aws.cloudformation.delete_change_set(ChangeSetName=plan.name, StackName=plan.stack_id)
    if plan.kind == "CREATE":
        _delete_review_stack(aws, plan.stack_id)
