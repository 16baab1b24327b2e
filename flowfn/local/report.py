"""Text for people and machines about a local run: invocation lines and the start-up banner.

Pure formatting; the CLI prints it.
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from typing import Any

from flowfn.local.invoker import Invocation

__all__ = ["banner", "invocation_line", "invocation_record"]


def invocation_record(inv: Invocation) -> dict[str, Any]:
    """One invocation as a JSON-ready dict (``run-local --json`` prints one per line)."""
    return {
        "time": inv.started.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "function": inv.function,
        "trigger": inv.trigger,
        "source": inv.source,
        "duration_ms": round(inv.duration_ms, 1),
        "outcome": inv.outcome,
        "error": inv.error_text() or None,
        "failed": inv.failed_ids if inv.outcome == "partial" else [],
        "request_id": inv.request_id,
    }


def invocation_line(inv: Invocation) -> str:
    """``12:00:01.234  make_thumbnail  s3  uploads/incoming/cat.jpg  183 ms  ok``."""
    when = inv.started.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3]
    outcome: str = inv.outcome
    if inv.outcome == "partial":
        outcome = f"partial: {len(inv.failed_ids)} of {len(inv.event.get('Records', []))} failed"
    elif inv.error is not None:
        outcome = f"{inv.outcome}: {inv.error_text()}"
    elif inv.trigger == "http" and isinstance(inv.result, dict):
        outcome = f"{inv.outcome} {inv.result.get('statusCode', '')}".rstrip()
    return f"{when}  {inv.function}  {inv.trigger}  {inv.source}  {inv.duration_ms:.0f} ms  {outcome}"


def banner(app: str, target: str, info: dict[str, Any], now: datetime) -> list[str]:
    """What runs where, and how to reach it from another terminal."""
    lines = [f"flowfn run-local: {app}", f"  emulator  {info['endpoint_url']}  (dummy credentials)"]
    if info["http_url"]:
        lines.append(f"  http      {info['http_url']}")
        lines.extend(f"            {route}" for route in info["routes"])
    for bucket, physical in info["buckets"].items():
        folder = f"  <-> {info['mirror']}/{bucket}/" if info["mirror"] else ""
        lines.append(f"  bucket    {physical}{folder}")
    for queue, url in info["queues"].items():
        lines.append(f"  queue     {queue}  {url}")
    for name, at in info["schedules"].items():
        wait = at - now
        minutes = int(wait.total_seconds() // 60)
        lines.append(f"  schedule  {name}  next {at:%Y-%m-%d %H:%M:%S} UTC (in {minutes} min)")
    env = (f"AWS_ENDPOINT_URL={info['endpoint_url']} AWS_ACCESS_KEY_ID=testing "
           f"AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION={info.get('region', 'us-east-1')}")
    quoted = shlex.quote(target)
    lines.append("From another terminal:")
    lines.append(f"  flowfn invoke {quoted} FUNCTION [--event FILE]   run a handler here (fire a schedule)")
    if info["queues"]:
        queue, url = next(iter(info["queues"].items()))
        lines.append(f"  {env} \\\n    aws sqs send-message --queue-url {url} --message-body '{{}}'"
                     f"   send to {queue}")
    if info["buckets"]:
        bucket = next(iter(info["buckets"].values()))
        lines.append(f"  {env} \\\n    aws s3 cp FILE s3://{bucket}/KEY   upload")
    lines.append("Type 'fire NAME' and Enter to fire a schedule now. Ctrl-C stops.")
    return lines
