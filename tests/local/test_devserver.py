"""run-local's conveniences in-process: mirror folders both ways and reload on code change."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from flowfn.local.devserver import DevServer, find_running, resolve_target

pytestmark = pytest.mark.slow

APP = '''
import boto3
from flowfn import App, Bucket

app = App("mirrorapp")
src = Bucket("src")
dst = Bucket("dst")
SUFFIX = b"-v1"


@app.on_s3(src, uses=[src.read(), dst.write()])
def copy(record):
    body = boto3.client("s3").get_object(Bucket=src.name, Key=record.object_key)["Body"].read()
    boto3.client("s3").put_object(Bucket=dst.name, Key=record.object_key, Body=body + SUFFIX)
'''


#: The invocations of the running server, as its listener hears of them.
seen: list[Any] = []


def wait_for(condition: Any, what: str, timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[DevServer, list[str]]]:
    seen.clear()
    (tmp_path / "code").mkdir()
    (tmp_path / "code" / "mirrorapp.py").write_text(APP)
    seeded = tmp_path / "state" / "mirrorapp" / "buckets" / "src" / "old.txt"
    seeded.parent.mkdir(parents=True)
    seeded.write_text("from a previous run")
    reports: list[str] = []
    dev = DevServer(str(tmp_path / "code" / "mirrorapp.py"), state_dir=tmp_path / "state",
                    http_port=None, report=reports.append, on_invocation=seen.append)
    dev.start()
    try:
        yield dev, reports
    finally:
        dev.stop()


def test_folders_mirror_buckets_both_ways(server: tuple[DevServer, list[str]], tmp_path: Path) -> None:
    dev, _ = server
    folders = tmp_path / "state" / "mirrorapp" / "buckets"
    s3 = dev.local.target.client("s3")
    # A file present at start is uploaded without firing the handler again.
    assert s3.get_object(Bucket="src", Key="old.txt")["Body"].read() == b"from a previous run"
    (folders / "src" / "new" / "a.txt").parent.mkdir()
    (folders / "src" / "new" / "a.txt").write_text("hello")
    copied = folders / "dst" / "new" / "a.txt"
    assert wait_for(lambda: copied.exists() and copied.read_bytes(), "the copy") == b"hello-v1"
    assert [r.source for r in seen] == ["src/new/a.txt"]
    assert dev.local.invoker.records == []  # a long run keeps none: they would grow with every event
    # Removing a file removes its object; objects removed in the bucket leave the folder.
    (folders / "src" / "new" / "a.txt").unlink()
    wait_for(lambda: "Contents" not in s3.list_objects_v2(Bucket="src", Prefix="new/"), "the delete")
    s3.delete_object(Bucket="dst", Key="new/a.txt")
    wait_for(lambda: not copied.exists(), "the folder to follow the bucket")
    state = find_running(tmp_path / "state", str(tmp_path / "code" / "mirrorapp.py"))
    assert state is not None and state.endpoint_url == dev.local.target.endpoint_url
    assert state.target == resolve_target(str(tmp_path / "code" / "mirrorapp.py"))


def test_code_changes_reload_and_broken_code_keeps_the_old_version(
    server: tuple[DevServer, list[str]], tmp_path: Path,
) -> None:
    dev, reports = server
    source = tmp_path / "code" / "mirrorapp.py"
    s3 = dev.local.target.client("s3")
    source.write_text(APP + "\nthis is not python\n")
    wait_for(lambda: any("reload failed" in r for r in reports), "the failed reload")
    source.write_text(APP.replace('b"-v1"', 'b"-v2"'))
    wait_for(lambda: any(r.startswith("reloaded") for r in reports), "the reload")
    s3.put_object(Bucket="src", Key="b.txt", Body=b"x")
    folder = tmp_path / "state" / "mirrorapp" / "buckets" / "dst" / "b.txt"
    assert wait_for(lambda: folder.exists() and folder.read_bytes(), "the copy") == b"x-v2"
