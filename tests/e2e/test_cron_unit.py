"""The cron example, piece by piece: the summary, expiry rules, and both jobs on moto's mock."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any

import boto3
import pytest

from flowfn import App
from flowfn.runtime import dispatch

NIGHT = datetime(2024, 5, 2, 2, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def hk(example_module: Callable[[str, str], ModuleType]) -> Any:
    return example_module("cron", "housekeeping")


def obj(hk: Any, key: str, size: int, hours_ago: float = 1) -> Any:
    return hk.StoredObject(key, size, NIGHT - timedelta(hours=hours_ago))


def test_summary(hk: Any) -> None:
    objects = [obj(hk, "photos/a.jpg", 500, 30), obj(hk, "photos/2024/b.jpg", 700, 2),
               obj(hk, "tmp/x", 10, 5), obj(hk, "readme.txt", 3, 100), obj(hk, "tmp/y", 700, 1)]
    report = hk.summarise("files-bucket", objects, NIGHT)
    assert report == {
        "bucket": "files-bucket",
        "as_of": "2024-05-02T02:30:00Z",
        "objects": 5,
        "bytes": 1913,
        "by_folder": {"/": {"objects": 1, "bytes": 3}, "photos/": {"objects": 2, "bytes": 1200},
                      "tmp/": {"objects": 2, "bytes": 710}},
        "largest": [{"key": "photos/2024/b.jpg", "bytes": 700}, {"key": "tmp/y", "bytes": 700},
                    {"key": "photos/a.jpg", "bytes": 500}, {"key": "tmp/x", "bytes": 10},
                    {"key": "readme.txt", "bytes": 3}],
        "oldest": {"key": "readme.txt", "modified": "2024-04-27T22:30:00Z"},
        "newest": {"key": "tmp/y", "modified": "2024-05-02T01:30:00Z"},
    }
    assert json.loads(hk.render_report(report)) == report


def test_summary_of_an_empty_bucket(hk: Any) -> None:
    report = hk.summarise("b", [], NIGHT)
    assert (report["objects"], report["bytes"], report["by_folder"], report["largest"],
            report["oldest"], report["newest"]) == (0, 0, {}, [], None, None)


def test_largest_is_capped(hk: Any) -> None:
    report = hk.summarise("b", [obj(hk, f"k{i:02}", i) for i in range(20)], NIGHT)
    assert [o["key"] for o in report["largest"]] == ["k19", "k18", "k17", "k16", "k15"]


def test_report_key_uses_the_utc_date(hk: Any) -> None:
    late = datetime.fromisoformat("2024-05-01T23:30:00-05:00")
    assert hk.report_key(late) == "daily/2024-05-02.json"


def test_expiry(hk: Any) -> None:
    o = obj(hk, "tmp/a", 1, hours_ago=10)
    ttl = timedelta(hours=24)
    assert hk.expires_at(o, {}, ttl) == NIGHT + timedelta(hours=14)
    assert hk.expires_at(o, {"expires-at": "2024-05-01T00:00:00Z"}, ttl) == datetime(2024, 5, 1, tzinfo=UTC)
    assert hk.expires_at(o, {"expires-at": "2024-05-01T02:00:00+02:00"}, ttl) == datetime(2024, 5, 1, tzinfo=UTC)
    with pytest.raises(ValueError, match="no time zone"):
        hk.expires_at(o, {"expires-at": "2024-05-01T00:00:00"}, ttl)
    with pytest.raises(ValueError, match="not an ISO 8601 time"):
        hk.expires_at(o, {"expires-at": "tomorrow"}, ttl)


# -- both jobs, on moto's in-process mock ---------------------------------------------------------


@pytest.fixture
def cron(load_example: Callable[[str], App], bound: Callable[[Any], str]) -> tuple[App, ModuleType]:
    app = load_example("cron")
    for resource in app.all_resources():
        bound(resource)
    return app, sys.modules["app"]


def keys(bucket: str) -> list[str]:
    return [o["Key"] for o in boto3.client("s3").list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_nightly_report_job(cron: tuple[App, ModuleType], raw: Any) -> None:
    app, module = cron
    s3 = boto3.client("s3")
    for key, size in [("photos/a.jpg", 100), ("photos/b.jpg", 250), ("tmp/scratch", 5)]:
        s3.put_object(Bucket=module.files.name, Key=key, Body=b"x" * size)
    result = dispatch(app.handler("nightly_report"), raw.schedule("2024-05-02T02:30:00Z"), None)
    assert result == {"report": "daily/2024-05-02.json", "objects": 3, "bytes": 355}
    report = json.loads(s3.get_object(Bucket=module.reports.name, Key="daily/2024-05-02.json")["Body"].read())
    assert report["bucket"] == module.files.name
    assert report["by_folder"] == {"photos/": {"objects": 2, "bytes": 350}, "tmp/": {"objects": 1, "bytes": 5}}
    assert report["largest"][0] == {"key": "photos/b.jpg", "bytes": 250}


def test_clean_up_job(cron: tuple[App, ModuleType], raw: Any, capsys: pytest.CaptureFixture[str]) -> None:
    app, module = cron
    s3 = boto3.client("s3")
    bucket = module.files.name
    now = datetime.now(UTC)

    def put(key: str, expires: datetime | None = None, raw_value: str | None = None) -> None:
        meta = {}
        if expires is not None:
            meta["expires-at"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
        if raw_value is not None:
            meta["expires-at"] = raw_value
        s3.put_object(Bucket=bucket, Key=key, Body=b"data", Metadata=meta)

    put("tmp/expired-1", now - timedelta(minutes=5))
    put("tmp/deep/expired-2", now - timedelta(days=3))
    put("tmp/later", now + timedelta(hours=2))
    put("tmp/no-metadata")                          # expires 24 h after it was written
    put("tmp/bad-metadata", raw_value="someday")    # likewise, with a warning
    put("photos/old", now - timedelta(days=400))    # outside tmp/: never touched
    fire = (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = dispatch(app.handler("clean_up"), raw.schedule(fire), None)
    assert sorted(result["deleted"]) == ["tmp/deep/expired-2", "tmp/expired-1"]
    assert result["kept"] == 3
    assert sorted(keys(bucket)) == ["photos/old", "tmp/bad-metadata", "tmp/later", "tmp/no-metadata"]
    warnings = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"WARNING"' in line]
    assert [(w["key"], "'someday' is not an ISO 8601 time" in w["message"]) for w in warnings] == [
        ("tmp/bad-metadata", True)]
    # A day later the files without (valid) metadata have expired too; photos/ is still untouched.
    fire = (now + timedelta(hours=25)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = dispatch(app.handler("clean_up"), raw.schedule(fire), None)
    assert sorted(result["deleted"]) == ["tmp/bad-metadata", "tmp/later", "tmp/no-metadata"]
    assert keys(bucket) == ["photos/old"]
