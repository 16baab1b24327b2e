"""`make demo` as a user meets it: run-local on the thumbnail example, drop an image, see a thumbnail."""

from __future__ import annotations

import io
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

pytestmark = pytest.mark.slow

FLOWFN = Path(sys.executable).with_name("flowfn")


class RunLocal:
    """A `flowfn run-local` process, its output read line by line on a thread."""

    def __init__(self, app: Path, state_dir: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FLOWFN_"))}
        self.process = subprocess.Popen(
            [str(FLOWFN), "run-local", str(app), "--port", "0", "--state-dir", str(state_dir), "--no-reload"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True, env=env,
            cwd=state_dir.parent,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        """The first output line matching ``pattern``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        for line in self.seen:
            if found := re.search(pattern, line):
                return found
        while (left := deadline - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            self.seen.append(line)
            if found := re.search(pattern, line):
                return found
        output = "\n".join(self.seen)
        raise AssertionError(f"run-local printed no line matching {pattern!r} in {timeout}s:\n{output}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.reader.join(timeout=10)
        if self.process.stdout is not None:
            self.process.stdout.close()


@pytest.fixture
def run_local(examples_dir: Path, tmp_path: Path) -> Iterator[RunLocal]:
    running = RunLocal(examples_dir / "thumbnail" / "app.py", tmp_path / ".flowfn")
    try:
        yield running
    finally:
        running.stop()


def test_dropping_an_image_into_the_uploads_folder_makes_a_thumbnail(
    run_local: RunLocal, examples_dir: Path, tmp_path: Path
) -> None:
    port = run_local.wait_for(r"^\s+http\s+http://127\.0\.0\.1:(\d+)$").group(1)
    uploads = run_local.wait_for(r"bucket\s+uploads\s+<->\s+(\S+)/$").group(1)
    thumbnails = run_local.wait_for(r"bucket\s+thumbnails\s+<->\s+(\S+)/$").group(1)
    run_local.wait_for("Ctrl-C stops")
    incoming = tmp_path / uploads / "incoming"
    incoming.mkdir(parents=True, exist_ok=True)
    dropped = time.monotonic()
    shutil.copy(examples_dir / "thumbnail" / "sample.jpg", incoming / "sample.jpg")

    run_local.wait_for(r"make_thumbnail\s+s3\s+uploads/incoming/sample\.jpg\s+\d+ ms\s+ok", timeout=30)
    thumbnail = tmp_path / thumbnails / "sample.jpg"
    deadline = time.monotonic() + 15
    while not (thumbnail.exists() and thumbnail.stat().st_size) and time.monotonic() < deadline:
        time.sleep(0.05)  # the mirror writes the file after the invocation line; poll the folder
    print(f"\ndemo: thumbnail on disk {time.monotonic() - dropped:.2f} s after the drop")
    with Image.open(io.BytesIO(thumbnail.read_bytes())) as image:
        assert (image.format, image.size) == ("JPEG", (256, 171))

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/thumbnails", timeout=10) as response:
        assert b'"name":"sample.jpg"' in response.read().replace(b" ", b"")
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as response:
        assert '<img src="/thumbnails/sample.jpg"' in response.read().decode()
