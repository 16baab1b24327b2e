"""The cron example end to end: the schedule clock drives the nightly report and the clean-up."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from flowfn.testing import Harness, run_app

pytestmark = pytest.mark.slow

START = datetime(2025, 1, 1, tzinfo=UTC)


@pytest.fixture
def harness(examples_dir: Path, restore_imports: None) -> Iterator[Harness]:
    with run_app(str(examples_dir / "cron" / "app.py"), start=START) as running:
        yield running


def put(harness: Harness, key: str, size: int, expires_at: str | None = None) -> None:
    metadata = {"expires-at": expires_at} if expires_at else {}
    harness.client("s3").put_object(Bucket=harness.bucket_name("files"), Key=key, Body=b"x" * size,
                                    Metadata=metadata)


def report(harness: Harness, day: str) -> dict[str, object]:
    return dict(json.loads(harness.download("reports", f"daily/{day}.json")))


def fires(harness: Harness) -> list[tuple[str, str]]:
    return [(r.function, r.event["time"]) for r in harness.invocations(trigger="schedule")]


def test_the_clock_drives_clean_up_and_nightly_reports(harness: Harness) -> None:
    put(harness, "photos/a.jpg", 1000)
    put(harness, "photos/b.jpg", 3000)
    put(harness, "docs/readme.md", 50)
    put(harness, "tmp/a", 10, "2025-01-01T00:30:00Z")
    put(harness, "tmp/b", 20, "2025-01-01T03:00:00+01:00")   # 02:00 UTC: due at the 02:00 run
    put(harness, "tmp/c", 30, "2025-01-01T20:00:00Z")
    put(harness, "tmp/d", 40)                                # no expiry: 24 h after it was written
    put(harness, "tmp/e", 50, "soon")                        # unreadable expiry: likewise
    assert harness.clock.next_fires() == {"clean_up": datetime(2025, 1, 1, 1, tzinfo=UTC),
                                          "nightly_report": datetime(2025, 1, 1, 2, 30, tzinfo=UTC)}

    harness.clock.advance_to(datetime(2025, 1, 1, 3, tzinfo=UTC))
    assert fires(harness) == [
        ("clean_up", "2025-01-01T01:00:00Z"), ("clean_up", "2025-01-01T02:00:00Z"),
        ("nightly_report", "2025-01-01T02:30:00Z"), ("clean_up", "2025-01-01T03:00:00Z"),
    ]
    assert all(r.outcome == "ok" for r in harness.invocations())
    assert [r.result["deleted"] for r in harness.invocations("clean_up")] == [["tmp/a"], ["tmp/b"], []]
    assert harness.keys("files", "tmp/") == ["tmp/c", "tmp/d", "tmp/e"]
    first = report(harness, "2025-01-01")
    assert first == {
        "bucket": harness.bucket_name("files"),
        "as_of": "2025-01-01T02:30:00Z",
        "objects": 6,
        "bytes": 4170,
        "by_folder": {"docs/": {"objects": 1, "bytes": 50}, "photos/": {"objects": 2, "bytes": 4000},
                      "tmp/": {"objects": 3, "bytes": 120}},
        "largest": [{"key": "photos/b.jpg", "bytes": 3000}, {"key": "photos/a.jpg", "bytes": 1000},
                    {"key": "docs/readme.md", "bytes": 50}, {"key": "tmp/e", "bytes": 50},
                    {"key": "tmp/d", "bytes": 40}],
        "oldest": first["oldest"],
        "newest": first["newest"],
    }
    assert {first["oldest"]["key"], first["newest"]["key"]} <= set(harness.keys("files"))
    # The report's event reached the rule, which points latest.json at it.
    assert json.loads(harness.download("reports", "latest.json"))["report"] == "daily/2025-01-01.json"

    # A day later: tmp/c went at 20:00, the second night's report shows it gone, the rest stays.
    harness.clear()
    harness.clock.advance_to(datetime(2025, 1, 2, 2, 45, tzinfo=UTC))
    cleanups = harness.invocations("clean_up")
    assert len(cleanups) == 23  # 04:00 on the 1st to 02:00 on the 2nd
    deleted = {r.event["time"]: r.result["deleted"] for r in cleanups if r.result["deleted"]}
    assert deleted == {"2025-01-01T20:00:00Z": ["tmp/c"]}
    assert [r.event["time"] for r in harness.invocations("nightly_report")] == ["2025-01-02T02:30:00Z"]
    second = report(harness, "2025-01-02")
    assert (second["objects"], second["bytes"]) == (5, 4140)
    assert harness.keys("reports") == ["daily/2025-01-01.json", "daily/2025-01-02.json", "latest.json"]
    assert json.loads(harness.download("reports", "latest.json"))["report"] == "daily/2025-01-02.json"
    assert harness.keys("files") == ["docs/readme.md", "photos/a.jpg", "photos/b.jpg", "tmp/d", "tmp/e"]


def test_a_schedule_can_be_fired_by_hand(harness: Harness) -> None:
    put(harness, "photos/a.jpg", 5)
    run = harness.fire("nightly_report")
    assert run.outcome == "ok" and run.result == {"report": "daily/2025-01-01.json", "objects": 1, "bytes": 5}
    assert report(harness, "2025-01-01")["as_of"] == "2025-01-01T00:00:00Z"


def test_the_rule_leaves_out_reports_of_an_empty_bucket(harness: Harness) -> None:
    assert harness.fire("nightly_report").outcome == "ok"
    harness.drain()
    assert harness.invocations("point_latest") == []  # {"objects": [{"numeric": [">", 0]}]}
    assert harness.keys("reports") == ["daily/2025-01-01.json"]
