"""Each bucket mirrored to a folder: files dropped there are uploaded, objects written appear.

``<root>/<bucket>/<key>``: a new or changed file is uploaded once its size and modification time
hold still for one scan (so half-written files wait), which fires the bucket's handlers; a file
deleted from the folder deletes its object. Objects that handlers write or remove are copied into
or removed from the folder. Files already in a folder when the run starts are uploaded before
notifications are switched on, so they are there without firing anything again.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowfn.local.s3 import ObjectChange

__all__ = ["Mirror"]

_SKIP_SUFFIXES = ("~", ".tmp", ".part", ".swp", ".crdownload")
Signature = tuple[int, int]  # size, mtime in ns


def _signature(path: Path) -> Signature | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns)


def _skipped(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts) or relative.name.endswith(_SKIP_SUFFIXES)


class Mirror:
    """Keeps ``root/<bucket>`` folders and the emulator's buckets in step."""

    def __init__(self, root: Path, report: Callable[[str], None] | None = None,
                 interval_s: float = 0.3) -> None:
        self.root = root
        self.report = report or (lambda message: None)
        self.interval_s = interval_s
        self._s3: Any = None
        self._buckets: dict[str, str] = {}  # logical -> physical
        self._synced: dict[tuple[str, str], Signature] = {}  # (bucket, key) -> file signature
        self._seen: dict[tuple[str, str], Signature] = {}  # last scan's signature, for stability
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._seeded = False

    def folder(self, bucket: str) -> Path:
        return self.root / bucket

    def seed(self, local: Any) -> None:
        """Create the folders and upload what they hold (once, before notifications start)."""
        self._buckets = dict(local.bindings.buckets)
        self._s3 = local.target.client("s3")
        for bucket in self._buckets:
            self.folder(bucket).mkdir(parents=True, exist_ok=True)
        if self._seeded:
            return
        self._seeded = True
        for bucket, key, path in self._files():
            signature = _signature(path)
            if signature is not None:
                with self._lock:
                    self._put(bucket, key, path, signature)

    def _files(self) -> list[tuple[str, str, Path]]:
        found = []
        for bucket in self._buckets:
            base = self.folder(bucket)
            for path in sorted(base.rglob("*")):
                relative = path.relative_to(base)
                if path.is_file() and not _skipped(relative):
                    found.append((bucket, relative.as_posix(), path))
        return found

    def _put(self, bucket: str, key: str, path: Path, signature: Signature) -> None:
        self._s3.put_object(Bucket=self._buckets[bucket], Key=key, Body=path.read_bytes())
        self._synced[(bucket, key)] = signature

    def on_change(self, change: ObjectChange) -> None:
        """Copy an object a handler wrote into its folder, or remove one it deleted."""
        if change.bucket not in self._buckets:
            return
        path = self.folder(change.bucket) / change.key
        if not path.resolve().is_relative_to(self.folder(change.bucket).resolve()):
            return  # a key such as ../x would leave the folder
        with self._lock:
            if change.event_name.startswith("ObjectRemoved"):
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                self._synced.pop((change.bucket, change.key), None)
                return
            try:
                body = self._s3.get_object(Bucket=self._buckets[change.bucket], Key=change.key)["Body"].read()
            except Exception:  # already overwritten or removed: a later change will follow
                return
            if not (path.is_file() and path.read_bytes() == body):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)
            signature = _signature(path)
            if signature is not None:
                self._synced[(change.bucket, change.key)] = signature
                self._seen[(change.bucket, change.key)] = signature

    def scan(self) -> None:
        """Upload files that are new or changed and have held still; delete removed ones.

        Runs under the lock :meth:`on_change` takes, so a file being written from the bucket is
        never mistaken for one the user removed.
        """
        done: list[str] = []
        with self._lock:
            present: set[tuple[str, str]] = set()
            for bucket, key, path in self._files():
                ident = (bucket, key)
                present.add(ident)
                signature = _signature(path)
                if signature is None:
                    continue
                stable = self._seen.get(ident) == signature
                self._seen[ident] = signature
                if signature != self._synced.get(ident) and stable:
                    self._put(bucket, key, path, signature)
                    done.append(f"uploaded {bucket}/{key}")
            for bucket, key in [ident for ident in self._synced if ident not in present]:
                self._synced.pop((bucket, key), None)
                self._seen.pop((bucket, key), None)
                self._s3.delete_object(Bucket=self._buckets[bucket], Key=key)
                done.append(f"deleted {bucket}/{key}")
        for message in done:
            self.report(message)

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="flowfn-mirror", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.scan()
            except Exception as exc:  # a file vanished mid-read, the emulator stopped: go on
                self.report(f"mirror: {type(exc).__name__}: {exc}")
