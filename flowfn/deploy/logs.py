"""Reading a deployed function's log group, and showing flowfn's JSON log lines readably."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

from flowfn.deploy.aws import Aws, UserError, error_code
from flowfn.deploy.changes import stack_state
from flowfn.deploy.outputs import stack_resources
from flowfn.synth.ids import unique_ids

__all__ = ["format_line", "log_group", "parse_since", "read_logs"]

_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
#: Keys shown in a line's head, not repeated among its other keys.
_HEAD = ("timestamp", "level", "message", "function", "exception", "exception_name", "location",
         "service", "xray_trace_id", "cold_start", "trigger", "request_id", "sampling_rate")


def parse_since(text: str, now: datetime) -> datetime:
    """``10m``, ``2h``, ``1d`` before ``now``, or an ISO 8601 time; UserError otherwise."""
    found = re.fullmatch(r"\s*(\d+)\s*([smhdw])\s*", text)
    if found:
        return now - timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UserError(f"--since {text!r} is neither a duration nor a time. Fix: write 30s, 10m, 2h or "
                        "1d, or an ISO 8601 time such as 2025-01-31T03:00:00Z.") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def log_group(aws: Aws, stack: str, function_names: list[str], function: str) -> str:
    """The name of ``function``'s log group in the deployed stack (nested stacks searched too)."""
    ids = unique_ids(function_names)
    if function not in ids:
        raise UserError(f"the app has no function {function!r}; it has {', '.join(sorted(ids)) or 'none'}. "
                        "Fix: name one of them (`flowfn list APP` shows them).")
    logical = ids[function] + "LogGroup"
    if stack_state(aws, stack) is None:
        raise UserError(f"no stack {stack!r} in {aws.region}. Fix: deploy it with `flowfn deploy APP --stack "
                        f"{stack}`, or name the --stack and --region it was deployed to.")
    stacks = [stack]
    while stacks:  # the root stack first, then its nested stacks
        resources = stack_resources(aws, stacks.pop(0))
        physical = resources.get(logical, ("", ""))[1]
        if physical:
            return physical
        stacks += [p for k, p in resources.values() if k == "AWS::CloudFormation::Stack" and p]
    raise UserError(f"the stack {stack!r} has no log group for {function!r}. Fix: deploy the app as it is "
                    f"now (`flowfn deploy APP --stack {stack}`), then read its logs.")


def read_logs(aws: Aws, group: str, start: datetime, *, follow: bool = False,
              sleep: Callable[[float], None] = time.sleep, poll: float = 2.0,
              stop: Callable[[], bool] = lambda: False) -> Iterator[dict[str, Any]]:
    """The group's events from ``start`` on, oldest first; with ``follow``, new ones as they come."""
    logs = aws.client("logs")
    since = int(start.timestamp() * 1000)
    seen: set[str] = set()
    while True:
        token = None
        newest = since
        while True:
            kwargs: dict[str, Any] = {"logGroupName": group, "startTime": since, "interleaved": True}
            if token:
                kwargs["nextToken"] = token
            try:
                page = logs.filter_log_events(**kwargs)
            except Exception as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    raise UserError(f"the log group {group} does not exist (yet). Fix: invoke the function, "
                                    "or deploy its stack again; Lambda writes there once it runs.") from None
                raise
            for event in sorted(page.get("events") or [], key=lambda e: e.get("timestamp", 0)):
                if event.get("eventId") in seen:
                    continue
                seen.add(str(event.get("eventId")))
                newest = max(newest, int(event.get("timestamp", since)))
                yield dict(event)
            token = page.get("nextToken")
            if not token:
                break
        if not follow or stop():
            return
        since = newest
        sleep(poll)


def format_line(event: dict[str, Any]) -> list[str]:
    """One log event as lines: a JSON line of flowfn's logger as ``time LEVEL message key=value``
    with its traceback below; any other line as it is, after its time."""
    stamp = datetime.fromtimestamp(int(event.get("timestamp", 0)) / 1000, UTC).strftime("%Y-%m-%d %H:%M:%S")
    text = str(event.get("message", "")).rstrip("\n")
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if not isinstance(record, dict) or "level" not in record or "message" not in record:
        return [f"{stamp}  {text}"]
    extra = " ".join(f"{k}={json.dumps(v) if not isinstance(v, str) else v}"
                     for k, v in record.items() if k not in _HEAD)
    head = f"{stamp}  {record['level']!s:<7} {record['message']}"
    if record.get("request_id"):
        extra = f"request_id={record['request_id']}" + (f" {extra}" if extra else "")
    lines = [head + (f"  {extra}" if extra else "")]
    exception = record.get("exception")
    if exception:
        lines += ["    " + part for part in str(exception).splitlines()]
    return lines
