"""Each bucket mirrored to a folder: files dropped there are uploaded, objects written appear.

``<root>/<bucket>/<key>``: a new or changed file is uploaded once it is whole: its size and
modification time have held still for ``quiet_s`` and, where the system tells (Linux's ``/proc``),
no process has it open for writing. The upload fires the bucket's handlers; a file deleted from
the folder deletes its object. Objects that handlers write or remove are copied into or removed
from the folder. Files already in a folder when the run starts are uploaded before notifications
are switched on, so they are there without firing anything again.

The mirror never destroys data. An object whose key cannot be a file here (a ``folder/`` marker,
``a//b``, a ``.`` or ``..`` segment, a NUL, a name too long, a key that is also the folder of
another key, a hidden or temporary name the folder ignores) stays in the bucket untouched and is
reported once as not mirrored, with the reason (the folder is what outlives the run: such an
object lasts as long as the emulator). Only objects the mirror itself put in step with a file are
ever deleted, and only when that file is gone from a folder that could be read; an object deleted
in the bucket takes its file along only when the file is still as the mirror left it. A file that
cannot be uploaded (a name that is not UTF-8) is reported once and the rest still sync. Nothing is
ever written outside the mirror folder, whatever the key.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flowfn.local.s3 import ObjectChange

__all__ = ["Mirror", "unmirrorable"]

_SKIP_SUFFIXES = ("~", ".tmp", ".part", ".swp", ".crdownload")
_NAME_MAX = 255  # bytes in one file name, on every common file system
Signature = tuple[int, int]  # size, mtime in ns
Ident = tuple[str, str]  # bucket, key


def _signature(path: Path) -> Signature | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return (stat.st_size, stat.st_mtime_ns)


def _skipped(parts: list[str]) -> bool:
    return any(part.startswith(".") for part in parts) or parts[-1].endswith(_SKIP_SUFFIXES)


def unmirrorable(key: str) -> str | None:
    """Why the object key ``key`` cannot be a file in a mirror folder, or None when it can."""
    if not key:
        return "an empty key"
    if "\x00" in key:
        return "a NUL character cannot be in a file name"
    if key.endswith("/"):
        return "a folder marker, not a file"
    parts = key.split("/")
    if any(part in (".", "..") for part in parts):
        return "a '.' or '..' segment would name another file"
    if "" in parts:
        return "an empty segment ('//' or a leading '/') cannot be a file name"
    if _skipped(parts):
        return "a hidden or temporary name, which the folder ignores"
    if any(len(part.encode("utf-8", "surrogatepass")) > _NAME_MAX for part in parts):
        return f"a segment longer than the file system allows ({_NAME_MAX} bytes)"
    return None


def open_for_writing(paths: set[str]) -> set[str]:
    """Those of ``paths`` (real, absolute) some process has open for writing.

    Read from Linux's ``/proc/<pid>/fd``; where there is no ``/proc``, none are.
    """
    busy: set[str] = set()
    if not paths or not os.path.isdir("/proc/self/fd"):
        return busy
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") not in paths:
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}") as info:
                    flags = next((int(line.split()[1], 8) for line in info if line.startswith("flags:")), 0)
                if flags & (os.O_WRONLY | os.O_RDWR):
                    busy.add(os.readlink(f"/proc/{pid}/fd/{fd}"))
            except (OSError, ValueError):
                continue  # the process or descriptor went away meanwhile
    return busy


class Mirror:
    """Keeps ``root/<bucket>`` folders and the emulator's buckets in step."""

    def __init__(self, root: Path, report: Callable[[str], None] | None = None,
                 interval_s: float = 0.3, quiet_s: float = 0.5) -> None:
        self.root = root
        self.report = report or (lambda message: None)
        self.interval_s = interval_s
        self.quiet_s = quiet_s
        self._s3: Any = None
        self._buckets: dict[str, str] = {}  # logical -> physical
        self._synced: dict[Ident, Signature] = {}  # in step with its object, as of this signature
        self._seen: dict[Ident, tuple[Signature, float]] = {}  # signature, since when it held still
        self._reported: dict[Ident, str] = {}  # what was last said about a key that is not in step
        self._pending: list[str] = []  # reports to print once the lock is let go
        self._last_error = ""
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
        with self._lock:
            files, _ = self._files()
            busy = open_for_writing({os.path.realpath(path) for _, _, path in files})
            for bucket, key, path in files:
                signature = _signature(path)
                if signature is not None and os.path.realpath(path) not in busy:
                    self._upload(bucket, key, path, signature)
        self._flush()

    # -- folder to bucket -----------------------------------------------------------------------

    def _files(self) -> tuple[list[tuple[str, str, Path]], list[Path]]:
        """Every file to keep in step, and the folders that could not be read."""
        found: list[tuple[str, str, Path]] = []
        unreadable: list[Path] = []

        def failed(exc: OSError) -> None:
            unreadable.append(Path(exc.filename))

        for bucket in self._buckets:
            base = self.folder(bucket)
            for folder, dirs, names in os.walk(base, onerror=failed):
                dirs.sort()
                relative = Path(folder).relative_to(base)
                for name in sorted(names):
                    parts = [*relative.parts, name]
                    if not _skipped(parts):
                        found.append((bucket, "/".join(parts), Path(folder) / name))
        return found, unreadable

    def _upload(self, bucket: str, key: str, path: Path, signature: Signature) -> bool:
        ident = (bucket, key)
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:
            self._say(ident, f"not uploaded: {f'{bucket}/{key}'!r}: its name is not valid UTF-8, "
                             "which S3 keys must be; rename the file")
            return False
        try:
            body = path.read_bytes()
            self._s3.put_object(Bucket=self._buckets[bucket], Key=key, Body=body)
        except FileNotFoundError:
            return False  # removed meanwhile: the next scan sees it gone
        except Exception as exc:  # an unreadable file, a name the emulator refuses
            self._say(ident, f"not uploaded: {f'{bucket}/{key}'!r}: {type(exc).__name__}: {exc}")
            return False
        self._synced[ident] = signature
        self._reported.pop(ident, None)
        return True

    def scan(self, last: bool = False) -> None:
        """Upload files that are new or changed and whole; delete objects whose file was removed.

        Runs under the lock :meth:`on_change` takes, so a file being written from the bucket is
        never mistaken for one the user removed. The ``last`` scan, at stop, does not wait for a
        file to hold still (a file some process writes still waits, for the next start).
        """
        done: list[str] = []
        with self._lock:
            files, unreadable = self._files()
            now = time.monotonic()
            present: set[Ident] = set()
            ready: list[tuple[str, str, Path, Signature]] = []
            for bucket, key, path in files:
                ident = (bucket, key)
                present.add(ident)
                signature = _signature(path)
                if signature is None or signature == self._synced.get(ident):
                    continue
                seen = self._seen.get(ident)
                if last:
                    ready.append((bucket, key, path, signature))
                elif seen is None or seen[0] != signature:
                    self._seen[ident] = (signature, now)
                elif now - seen[1] >= self.quiet_s:
                    ready.append((bucket, key, path, signature))
            busy = open_for_writing({os.path.realpath(path) for _, _, path, _ in ready})
            for bucket, key, path, signature in ready:
                if os.path.realpath(path) not in busy and self._upload(bucket, key, path, signature):
                    done.append(f"uploaded {bucket}/{key}")
            for bucket, key in [ident for ident in self._synced if ident not in present]:
                path = self.folder(bucket) / key
                if any(path.is_relative_to(folder) for folder in unreadable):
                    continue  # not listed, not necessarily gone
                self._synced.pop((bucket, key), None)
                self._seen.pop((bucket, key), None)
                try:
                    self._s3.delete_object(Bucket=self._buckets[bucket], Key=key)
                except Exception as exc:
                    self._say((bucket, key), f"not deleted: {f'{bucket}/{key}'!r}: {exc}")
                    continue
                done.append(f"deleted {bucket}/{key}")
            for ident in [ident for ident in self._seen if ident not in present]:
                self._seen.pop(ident)
            for ident in [ident for ident in self._reported if ident not in present]:
                if self._reported[ident].startswith("not uploaded"):
                    self._reported.pop(ident)  # an odd file that is gone: say it again if back
        for message in done:
            self.report(message)
        self._flush()

    # -- bucket to folder -----------------------------------------------------------------------

    def on_change(self, change: ObjectChange) -> None:
        """Copy an object a handler wrote into its folder, or remove one it deleted.

        A key that cannot be a file there is reported once (and never raises): the object stays
        in the bucket as it is.
        """
        if change.bucket not in self._buckets:
            return
        ident = (change.bucket, change.key)
        removed = change.event_name.startswith("ObjectRemoved")
        base = self.folder(change.bucket)
        path = base / change.key
        reason = unmirrorable(change.key)
        if reason is None and not path.resolve().is_relative_to(base.resolve()):
            reason = "it would be written outside the folder, through a link"
        try:
            with self._lock:
                if reason is not None:
                    if removed:
                        self._reported.pop(ident, None)
                    else:
                        self._not_mirrored(ident, reason)
                elif removed:
                    self._removed(ident, path)
                else:
                    self._copy(ident, path)
        finally:
            self._flush()

    def _removed(self, ident: Ident, path: Path) -> None:
        self._reported.pop(ident, None)
        synced = self._synced.pop(ident, None)
        self._seen.pop(ident, None)
        if synced is not None and _signature(path) == synced:  # a file changed here since is kept
            with contextlib.suppress(FileNotFoundError, IsADirectoryError, NotADirectoryError):
                path.unlink()

    def _copy(self, ident: Ident, path: Path) -> None:
        bucket, key = ident
        try:
            body = self._s3.get_object(Bucket=self._buckets[bucket], Key=key)["Body"].read()
        except Exception:  # already overwritten or removed: a later change will follow
            return
        try:
            if not (path.is_file() and path.read_bytes() == body):
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(body)
        except OSError as exc:
            self._not_mirrored(ident, self._conflict(bucket, key) or exc.strerror or str(exc))
            return
        signature = _signature(path)
        if signature is not None:
            self._synced[ident] = signature
            self._seen[ident] = (signature, time.monotonic())
            self._reported.pop(ident, None)

    def _conflict(self, bucket: str, key: str) -> str | None:
        base = self.folder(bucket)
        parts = key.split("/")
        for end in range(1, len(parts)):
            above = "/".join(parts[:end])
            if (base / above).exists() and not (base / above).is_dir():
                return f"{above!r} is a file (an object of that key), so it cannot be a folder too"
        if (base / key).is_dir():
            return f"{key!r} is a folder (of other objects' keys), so it cannot be a file too"
        return None

    # -- reporting ------------------------------------------------------------------------------

    def _not_mirrored(self, ident: Ident, reason: str) -> None:
        bucket, key = ident
        self._say(ident, f"not mirrored: {f'{bucket}/{key}'!r} stays in the bucket, while run-local "
                         f"runs: {reason}")

    def _say(self, ident: Ident, message: str) -> None:
        """Report ``message`` about ``ident`` unless it is what was said about it last."""
        if self._reported.get(ident) != message:
            self._reported[ident] = message
            self._pending.append(message)

    def _flush(self) -> None:
        with self._lock:
            messages, self._pending = self._pending, []
        for message in messages:
            self.report(message)

    # -- the scanning thread --------------------------------------------------------------------

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="flowfn-mirror", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop scanning (objects written in the bucket are still copied into the folders)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.scan()
            except Exception as exc:  # the emulator stopped: go on, saying so once
                error = f"mirror: {type(exc).__name__}: {exc}"
                if error != self._last_error:
                    self.report(error)
                self._last_error = error
            else:
                self._last_error = ""
