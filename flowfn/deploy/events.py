"""Following a stack's events until its operation ends, and finding the failure that caused a
rollback (not the cascade of cancellations that follows it).

Works against CloudFormation, which reports each resource's progress as it happens, and against
emulators that finish an operation synchronously and report only the stack's own events.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flowfn.deploy.aws import Aws

__all__ = ["Event", "Failure", "first_failure", "follow", "latest_event_id"]

#: Seconds between two looks at a stack in progress.
POLL_SECONDS = 2.0
#: Reasons of resources CloudFormation stopped because another one failed.
_CASCADE = ("cancelled", "canceled")


@dataclass(frozen=True)
class Event:
    """One stack event: a resource (or the stack itself) changing status."""

    event_id: str
    logical_id: str
    resource_type: str
    status: str
    reason: str
    physical_id: str
    timestamp: Any
    stack_name: str = ""

    def line(self) -> str:
        """``12:00:03  CREATE_FAILED  UploadsBucket  AWS::S3::Bucket  reason``."""
        when = self.timestamp.strftime("%H:%M:%S") if hasattr(self.timestamp, "strftime") else ""
        text = f"{when}  {self.status:<20} {self.logical_id}  {self.resource_type}"
        return text + (f"  {self.reason}" if self.reason and self.status.endswith("FAILED") else "")


def _event(raw: dict[str, Any]) -> Event:
    return Event(event_id=str(raw.get("EventId", "")), logical_id=str(raw.get("LogicalResourceId", "")),
                 resource_type=str(raw.get("ResourceType", "")), status=str(raw.get("ResourceStatus", "")),
                 reason=str(raw.get("ResourceStatusReason", "") or ""),
                 physical_id=str(raw.get("PhysicalResourceId", "") or ""), timestamp=raw.get("Timestamp"),
                 stack_name=str(raw.get("StackName", "")))


def latest_event_id(aws: Aws, stack: str) -> str | None:
    """The id of the stack's newest event (None when it has none): events after it are new."""
    page = aws.cloudformation.describe_stack_events(StackName=stack)
    events = page.get("StackEvents") or []
    return str(events[0]["EventId"]) if events else None


def _new_events(aws: Aws, stack: str, since: str | None, seen: set[str]) -> list[Event]:
    """Events newer than ``since`` not yet seen, oldest first (CloudFormation lists newest first)."""
    found: list[Event] = []
    token = None
    while True:
        kwargs = {"StackName": stack} | ({"NextToken": token} if token else {})
        page = aws.cloudformation.describe_stack_events(**kwargs)
        reached = False
        for raw in page.get("StackEvents") or []:  # newest first: stop at the first one known
            if raw.get("EventId") == since or raw.get("EventId") in seen:
                reached = True
                break
            found.append(_event(raw))
        token = page.get("NextToken")
        if reached or not token:
            break
    fresh = [e for e in reversed(found) if e.event_id not in seen]
    seen.update(e.event_id for e in fresh)
    return fresh


def _done(status: str) -> bool:
    return not status.endswith("_IN_PROGRESS")


def follow(
    aws: Aws,
    stack_id: str,
    since: str | None,
    on_event: Callable[[Event], None] = lambda e: None,
    *,
    sleep: Callable[[float], None] = time.sleep,
    poll: float | None = None,
) -> tuple[str, list[Event]]:
    """Report each new event of the stack to ``on_event`` until its operation ends.

    Returns the final stack status and every event seen, oldest first. ``stack_id`` should be the
    stack's ARN, which still names it once it is deleted.
    """
    seen: set[str] = set()
    events: list[Event] = []
    while True:
        stacks = aws.cloudformation.describe_stacks(StackName=stack_id)["Stacks"]
        status = str(stacks[0]["StackStatus"]) if stacks else "DELETE_COMPLETE"
        fresh = _new_events(aws, stack_id, since, seen)
        for event in fresh:
            on_event(event)
        events += fresh
        if _done(status):
            return status, events
        sleep(POLL_SECONDS if poll is None else poll)


@dataclass(frozen=True)
class Failure:
    """The resource whose failure started a rollback, and why. ``within`` names the nested stacks
    it sits in, outermost first."""

    logical_id: str
    resource_type: str
    status: str
    reason: str
    within: tuple[str, ...] = ()

    def line(self) -> str:
        where = "".join(f"{s} > " for s in self.within)
        return f"{where}{self.logical_id} ({self.resource_type}) {self.status}: {self.reason}"


def first_failure(aws: Aws, events: list[Event], stack_id: str, depth: int = 0) -> Failure | None:
    """The first resource that failed, in time order, past the cascade it caused.

    When it is a nested stack, the failure inside it is looked up (CloudFormation only says that
    the nested stack failed).
    """
    for event in events:
        if not event.status.endswith("_FAILED") or event.physical_id == stack_id:
            continue
        if event.logical_id == event.stack_name or any(w in event.reason.lower() for w in _CASCADE):
            continue
        if event.resource_type == "AWS::CloudFormation::Stack" and event.physical_id and depth < 5:
            try:
                inner = _new_events(aws, event.physical_id, None, set())
            except Exception:
                inner = []
            found = first_failure(aws, inner, event.physical_id, depth + 1)
            if found is not None:
                return Failure(found.logical_id, found.resource_type, found.status, found.reason,
                               (event.logical_id, *found.within))
        return Failure(event.logical_id, event.resource_type, event.status, event.reason)
    return None
