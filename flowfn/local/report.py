"""Text for people and machines about a local run: invocation lines and the start-up banner.

Pure formatting; the CLI prints it.
"""

from __future__ import annotations

import shlex
from datetime import UTC, datetime
from typing import Any

from flowfn.local.invoker import Invocation

__all__ = ["banner", "given_up_lines", "http_status", "invocation_line", "invocation_record"]

#: Where a given-up asynchronous event goes once deployed (synth's on-failure destination).
DEPLOYED_DESTINATION = "deployed, it goes to the FailedEvents queue"
#: The trigger kinds whose given-up events are runs of a shard's records.
_STREAM_KINDS = frozenset({"kinesis", "dynamodb"})


def http_status(inv: Invocation) -> int | None:
    """The status an HTTP invocation answered with (direct invocations of HTTP handlers too)."""
    if inv.trigger in ("http", "invoke") and isinstance(inv.result, dict):
        status = inv.result.get("statusCode")
        if isinstance(status, int):
            return status
    return None


def invocation_record(inv: Invocation) -> dict[str, Any]:
    """One invocation as a JSON-ready dict (``run-local --json`` prints one per line)."""
    return {
        "time": _iso(inv.started),
        "function": inv.function,
        "trigger": inv.trigger,
        "source": inv.source,
        "duration_ms": round(inv.duration_ms, 1),
        "outcome": inv.outcome,
        "status": http_status(inv),
        "error": inv.error_text() or None,
        "failed": inv.failed_ids if inv.outcome == "partial" else [],
        "given_up": [
            {"event": g.event, "attempts": g.attempts, "destination": g.destination, "reason": g.reason}
            for g in inv.given_up
        ],
        "request_id": inv.request_id,
    }


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _clock(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%H:%M:%S.%f")[:-3]


def invocation_line(inv: Invocation) -> str:
    """``12:00:01.234  make_thumbnail  s3  uploads/incoming/cat.jpg  183 ms  ok``."""
    outcome: str = inv.outcome
    status = http_status(inv)
    if inv.outcome == "expired":  # records given up without an invocation: no duration
        return (f"{_clock(inv.started)}  {inv.function}  {inv.trigger}  {inv.source}  expired: not invoked, "
                "older than max_record_age_s")
    if inv.outcome == "partial":
        outcome = f"partial: {len(inv.failed_ids)} of {len(inv.event.get('Records', []))} failed"
    elif status is not None:
        outcome = f"{inv.outcome} {status}"
    elif inv.error is not None:
        outcome = f"{inv.outcome}: {inv.error_text()}"
    return (f"{_clock(inv.started)}  {inv.function}  {inv.trigger}  {inv.source}  "
            f"{inv.duration_ms:.0f} ms  {outcome}")


def given_up_lines(inv: Invocation) -> list[str]:
    """One line per event ``inv`` was the last attempt at: what, after how many tries, where to.

    ``12:00:05.120  take  sqs  gave up on message 5f1c... after 2 receives: it moves to jobs-dlq``;
    a stream's batch: ``gave up on clicks shardId-000000000000 records 4959...-4959... (63 records)
    after 2 attempts (retries spent): its metadata goes to the on-failure queue bad``.
    """
    lines = []
    for given in inv.given_up:
        if inv.trigger in _STREAM_KINDS:
            tries = "attempt" if given.attempts == 1 else "attempts"
            why = f" after {given.attempts} {tries} ({given.reason})"
            fate = ("discarded (no on_failure queue)" if given.destination == "discarded"
                    else f"its metadata goes to the on-failure queue {given.destination}")
            if given.destination.startswith("lost"):
                fate = given.destination
        elif given.destination == "dropped":
            tries = f" after {given.attempts} attempts" if given.attempts else ""
            fate = f"dropped ({DEPLOYED_DESTINATION})"
            why = f"{tries} ({given.reason})"
        else:
            why = f" after {given.attempts} receives"
            fate = f"it moves to the dead-letter queue {given.destination}"
        lines.append(f"{_clock(inv.started)}  {inv.function}  {inv.trigger}  gave up on {given.event}"
                     f"{why}: {fate}")
    return lines


def banner(app: str, target: str, info: dict[str, Any], now: datetime, *, state_dir: str | None = None,
           interactive: bool = False) -> list[str]:
    """What runs where, and how to reach it from another terminal.

    ``state_dir``: run-local's ``--state-dir`` when not the default (``flowfn invoke`` needs it
    too); ``interactive``: standard input is a terminal, where ``fire NAME`` can be typed.
    """
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
    invoke = f"flowfn invoke {shlex.quote(target)} FUNCTION"
    if state_dir is not None:
        invoke += f" --state-dir {shlex.quote(state_dir)}"
    lines.append("From another terminal:")
    lines.append(f"  {invoke} [--event FILE]   run a handler here (fire a schedule)")
    dead = set(info.get("dead_letter_queues", []))
    queues = [(name, url) for name, url in info["queues"].items() if name not in dead]
    if info["buckets"] and info["mirror"]:
        bucket = next(iter(info["buckets"]))
        lines.append(f"  cp FILE {shlex.quote(info['mirror'] + '/' + bucket)}/   upload (the folder mirrors "
                     "the bucket)")
    if queues or info["buckets"]:
        lines.append("  with the AWS CLI (pip install awscli):")
    if queues:
        queue, url = queues[0]
        # A FIFO queue refuses a message without a group, and one without a deduplication id unless
        # it deduplicates by content.
        fifo = ' --message-group-id demo --message-deduplication-id "$(date +%s)"' if queue.endswith(
            ".fifo") else ""
        lines.append(f"  {env} \\\n    aws sqs send-message --queue-url {url} --message-body '{{}}'{fifo}"
                     f"   send to {queue}")
    if info["buckets"]:
        bucket = next(iter(info["buckets"].values()))
        lines.append(f"  {env} \\\n    aws s3 cp FILE s3://{bucket}/KEY   upload")
    if interactive and info["schedules"]:
        lines.append("Type 'fire NAME' and Enter to fire a schedule now.")
    lines.append("Ctrl-C stops.")
    return lines
