"""The cron example's logic: a bucket summary and object expiry. Pure, no AWS, no clock.

Both take "now" as an argument (the scheduled time of the fire that runs them), so a report or a
clean-up run is the same whenever it is replayed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

#: Object metadata that sets an object's expiry: ``x-amz-meta-expires-at: 2024-05-01T12:00:00Z``.
EXPIRES_AT = "expires-at"
#: How many of the largest objects a report names.
LARGEST = 5


@dataclass(frozen=True)
class StoredObject:
    """What a bucket listing says about one object."""

    key: str
    size: int
    last_modified: datetime


def area(key: str) -> str:
    """The top-level folder a key is in (``photos/`` for ``photos/2024/a.jpg``), ``/`` at the root."""
    head, slash, _ = key.partition("/")
    return f"{head}/" if slash else "/"


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def summarise(bucket: str, objects: Iterable[StoredObject], as_of: datetime) -> dict[str, Any]:
    """The nightly report of ``bucket``: totals, totals per top-level folder, largest, oldest, newest."""
    listing = sorted(objects, key=lambda o: o.key)
    areas: dict[str, dict[str, int]] = {}
    for obj in listing:
        totals = areas.setdefault(area(obj.key), {"objects": 0, "bytes": 0})
        totals["objects"] += 1
        totals["bytes"] += obj.size
    by_age = sorted(listing, key=lambda o: (o.last_modified, o.key))
    largest = sorted(listing, key=lambda o: (-o.size, o.key))[:LARGEST]
    return {
        "bucket": bucket,
        "as_of": _stamp(as_of),
        "objects": len(listing),
        "bytes": sum(o.size for o in listing),
        "by_folder": dict(sorted(areas.items())),
        "largest": [{"key": o.key, "bytes": o.size} for o in largest],
        "oldest": {"key": by_age[0].key, "modified": _stamp(by_age[0].last_modified)} if by_age else None,
        "newest": {"key": by_age[-1].key, "modified": _stamp(by_age[-1].last_modified)} if by_age else None,
    }


def report_key(as_of: datetime) -> str:
    """Where the report of the night of ``as_of`` goes: ``daily/2024-05-01.json``."""
    return f"daily/{as_of.astimezone(UTC):%Y-%m-%d}.json"


def render_report(report: Mapping[str, Any]) -> bytes:
    return json.dumps(report, indent=2, sort_keys=False).encode() + b"\n"


def parse_expiry(value: str) -> datetime:
    """An ``expires-at`` value: ISO 8601 with a time zone. ValueError says what is wrong."""
    try:
        moment = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time such as 2024-05-01T12:00:00Z") from None
    if moment.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone; end it with Z for UTC")
    return moment


def expires_at(obj: StoredObject, metadata: Mapping[str, str], default_ttl: timedelta) -> datetime:
    """When ``obj`` expires: its ``expires-at`` metadata, else ``default_ttl`` after its last change."""
    value = metadata.get(EXPIRES_AT)
    if value is not None:
        return parse_expiry(value)
    return obj.last_modified + default_ttl
