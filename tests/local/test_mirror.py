"""The bucket mirror of `flowfn run-local`, run as a user runs it (a subprocess): it never deletes
an object it cannot mirror, never lets one block a notification, never stops its scan for an odd
file, waits for a file to be written whole, and never writes outside its folder."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import pytest

from .conftest import APPS, CLI, wait_for

pytestmark = pytest.mark.slow




class StopApp:
    """`flowfn run-local --json tests/local/apps/stopapp.py` in a subprocess; both streams read."""

    def __init__(self, state: Path, app: Path = APPS / "stopapp.py", name: str = "stopapp",
                 options: tuple[str, ...] = ()) -> None:
        self.state = state
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FLOWFN_"))}
        env["PYTHONUNBUFFERED"] = "1"
        self.proc = subprocess.Popen(
            [*CLI, "run-local", str(app), "--port", "0", "--json", "--no-reload",
             "--state-dir", str(state), *options],
            cwd=state.parent, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=env, errors="replace",
        )
        self.invocations: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.err: list[str] = []
        self.threads = [threading.Thread(target=self._stdout, daemon=True),
                        threading.Thread(target=self._stderr, daemon=True)]
        for thread in self.threads:
            thread.start()
        self.folders = state / name / "buckets"
        run = state / name / "run.json"
        try:
            text = wait_for(lambda: run.exists() and run.read_text().strip(), 60, "run-local to start")
        except BaseException:
            self.stop()
            raise
        self.run_state: dict[str, Any] = json.loads(text)
        creds = {"endpoint_url": self.run_state["endpoint_url"], "region_name": "us-east-1",
                 "aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
        self.s3 = boto3.client("s3", **creds)
        self.sqs = boto3.client("sqs", **creds)

    def _stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                item = json.loads(raw)
            except ValueError:
                continue
            if isinstance(item, dict) and "outcome" in item and "function" in item:
                self.invocations.put(item)

    def _stderr(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            self.err.append(raw.rstrip("\n"))

    def collect(self) -> list[dict[str, Any]]:
        while True:
            try:
                self.seen.append(self.invocations.get_nowait())
            except queue.Empty:
                return self.seen

    def wait_invoked(self, function: str, source: str, timeout: float = 20) -> dict[str, Any]:
        def found() -> dict[str, Any] | None:
            return next((s for s in self.collect() if s["function"] == function and s["source"] == source),
                        None)
        return wait_for(found, timeout, f"{function} to run for {source}")  # type: ignore[no-any-return]

    def keys(self, bucket: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    def stop(self, sig: int = signal.SIGINT) -> int:
        """Stop it as Ctrl-C (or SIGTERM) does and wait for it to end by itself."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for thread in self.threads:
            thread.join(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()
        self.collect()
        return self.proc.returncode


@pytest.fixture
def stopapp(tmp_path: Path) -> Any:
    started: list[StopApp] = []

    def start(*args: Any) -> StopApp:
        run = StopApp(tmp_path / "state", *args)
        started.append(run)
        return run

    yield start
    for run in started:
        run.stop()


def test_objects_the_mirror_cannot_be_files_stay_in_the_bucket_and_still_notify(stopapp: Any) -> None:
    run = stopapp()
    outside = run.state.parent / "outside"
    outside.mkdir()
    (run.folders / "files" / "link").symlink_to(outside, target_is_directory=True)
    odd = {
        "link/through.txt": "outside the folder",
        "./dot.txt": "a '.' or '..' segment",
        "dir//double.txt": "an empty segment",
        "a/../inside.txt": "a '.' or '..' segment",
        "folder/": "a folder marker",
        "nul\x00byte.txt": "a NUL character",
        "x" * 300 + ".txt": "longer than the file system allows",
        "conf/child.txt": "'conf' is a file",
        "deep": "'deep' is a folder",
        "../escape.txt": "a '.' or '..' segment",
    }
    run.s3.put_object(Bucket="files", Key="conf", Body=b"a file first")
    run.s3.put_object(Bucket="files", Key="deep/child.txt", Body=b"a file in a folder first")
    for key in odd:
        run.s3.put_object(Bucket="files", Key=key, Body=key.encode())
    run.s3.put_object(Bucket="files", Key="last.txt", Body=b"last")
    for key in ["conf", "deep/child.txt", *odd, "last.txt"]:
        run.wait_invoked("seen", f"files/{key}")  # every notification reached its handler
    assert (run.folders / "files" / "last.txt").read_bytes() == b"last"
    assert (run.folders / "files" / "conf").read_bytes() == b"a file first"
    # Two scans of the folder have passed once a file dropped there is uploaded.
    (run.folders / "files" / "dropped.txt").write_text("dropped")
    run.wait_invoked("seen", "files/dropped.txt")
    assert sorted(run.keys("files")) == sorted(["conf", "deep/child.txt", *odd, "last.txt", "dropped.txt"])
    for key in odd:  # unchanged
        assert run.s3.get_object(Bucket="files", Key=key)["Body"].read() == key.encode()
    assert run.stop() == 0
    # Nothing was written outside the folder, whatever the key.
    assert not (run.state / "stopapp" / "buckets" / "escape.txt").exists()
    assert list(outside.iterdir()) == []
    assert sorted(p.name for p in (run.folders / "files").iterdir()) == [
        "conf", "deep", "dropped.txt", "last.txt", "link"]
    for key, reason in odd.items():
        lines = [line for line in run.err if f"not mirrored: {'files/' + key!r}" in line]
        assert len(lines) == 1, (key, run.err)
        assert reason in lines[0], lines[0]
    assert not [line for line in run.err if "Traceback" in line or "Error" in line], run.err


def test_an_odd_file_in_the_folder_is_reported_once_and_the_others_sync(stopapp: Any) -> None:
    run = stopapp()
    folder = run.folders / "files"
    with open(os.fsencode(folder) + b"/a-latin1-\xe9t\xe9.txt", "wb") as bad:
        bad.write(b"not UTF-8")
    (folder / "b-new\nline.txt").write_text("newline")
    (folder / "c-good.txt").write_text("good")
    run.wait_invoked("seen", "files/c-good.txt")
    # Many scans later, each odd file has been reported once, not once a scan.
    (folder / "d-later.txt").write_text("later")
    run.wait_invoked("seen", "files/d-later.txt")
    time.sleep(1.0)
    # moto's server refuses a key with a newline (AWS takes it): either way the scan goes on.
    uploaded = run.keys("files")
    assert set(uploaded) - {"b-new\nline.txt"} == {"c-good.txt", "d-later.txt"}
    assert run.stop() == 0
    newline = [line for line in run.err if "b-new\\nline.txt" in line]
    assert len(newline) == (0 if "b-new\nline.txt" in uploaded else 1), run.err
    odd = [line for line in run.err if "latin1" in line]
    assert len(odd) == 1, run.err
    assert "not uploaded" in odd[0] and "UTF-8" in odd[0], odd[0]


def test_a_file_written_in_two_parts_is_uploaded_once_whole(stopapp: Any) -> None:
    run = stopapp()
    path = run.folders / "files" / "big.txt"
    with open(path, "wb") as writer:
        writer.write(b"first half;")
        writer.flush()
        time.sleep(1.5)  # the writer pauses for several scans, the file open
        writer.write(b"second half")
    run.wait_invoked("seen", "files/big.txt")
    (run.folders / "files" / "after.txt").write_text("after")
    run.wait_invoked("seen", "files/after.txt")
    assert run.s3.get_object(Bucket="files", Key="big.txt")["Body"].read() == b"first half;second half"
    assert run.stop() == 0
    assert [s["source"] for s in run.seen if s["function"] == "seen"].count("files/big.txt") == 1


def test_a_file_changed_here_is_kept_when_its_object_is_deleted_meanwhile(stopapp: Any) -> None:
    run = stopapp()
    path = run.folders / "files" / "keep.txt"
    run.s3.put_object(Bucket="files", Key="keep.txt", Body=b"from the bucket")
    wait_for(lambda: path.exists() and path.read_bytes() == b"from the bucket", 20, "the copy")
    with open(path, "wb") as writer:  # open for writing: not uploaded until closed
        writer.write(b"edited here")
        writer.flush()
        run.s3.delete_object(Bucket="files", Key="keep.txt")
        run.s3.put_object(Bucket="files", Key="later.txt", Body=b"")  # notified after the delete
        wait_for((run.folders / "files" / "later.txt").exists, 20, "the notification after the delete")
    run.wait_invoked("seen", "files/later.txt")
    wait_for(lambda: [s["source"] for s in run.collect()].count("files/keep.txt") == 2, 20,
             "the edited file to be uploaded")
    assert path.read_bytes() == b"edited here"
    assert run.s3.get_object(Bucket="files", Key="keep.txt")["Body"].read() == b"edited here"
    assert run.stop() == 0
