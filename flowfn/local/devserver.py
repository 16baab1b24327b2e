"""``flowfn run-local``: a running app plus what a person at a terminal wants around it.

Mirror folders for buckets, reload when the app's code changes, a state file other terminals
find the run by (``flowfn invoke`` uses the running emulator through it), and a few commands
typed on standard input. Reports go through callbacks; the CLI prints them.

A stop loses nothing: in-flight invocations finish, the objects they wrote reach the folders,
and, with the embedded emulator (which keeps queues in memory), every message still queued or
dead-lettered is saved to ``<state dir>/<app>/queues.json`` and sent again at the next start
(:mod:`flowfn.local.queuestate`). Another emulator keeps its own queues.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flowfn.local import queuestate, streamstate
from flowfn.local.engine import LocalApp, Options
from flowfn.local.invoker import Invocation
from flowfn.local.mirror import Mirror
from flowfn.local.s3 import NOTIFICATION_QUEUE

__all__ = ["DevServer", "RunState", "find_running", "resolve_target", "runs_dir"]

STATE_FILE = "run.json"
_SKIP_DIRS = {".flowfn", ".venv", "venv", "__pycache__", "node_modules", "site-packages", ".git"}
_MAX_WATCHED = 5000
#: Seconds between two looks for changed code: the least, and the most (for large trees).
_MIN_PAUSE, _MAX_PAUSE = 0.1, 1.0


def resolve_target(target: str) -> str:
    """A stable spelling of an app target: absolute for paths, as given for modules."""
    path = Path(target)
    return str(path.resolve()) if path.exists() else target


@dataclass(frozen=True)
class RunState:
    """What a running ``flowfn run-local`` tells other terminals."""

    pid: int
    target: str
    app: str
    endpoint_url: str
    region: str
    http_url: str | None
    buckets: dict[str, str]
    queues: dict[str, str]


def find_running(state_dir: Path, target: str) -> RunState | None:
    """The state of a live ``flowfn run-local`` of ``target``, if any.

    The run under ``state_dir`` first; else one started with another ``--state-dir``, found
    through the pointer every run leaves in a folder of the user's (see :func:`runs_dir`).
    """
    here = running_under(state_dir, target)
    if here is not None:
        return here
    wanted = resolve_target(target)
    for pointer in sorted(runs_dir().glob("*.json")):
        try:
            file = Path(json.loads(pointer.read_text())["state_file"])
        except (OSError, ValueError, TypeError, KeyError):
            continue
        state = _read_state(file)
        if (state is None and not file.exists()) or (state is not None and not _alive(state.pid)):
            with contextlib.suppress(OSError):  # that run has stopped
                pointer.unlink()
        elif state is not None and state.target == wanted:
            return state
    return None


def running_under(state_dir: Path, target: str) -> RunState | None:
    """The state of a live ``flowfn run-local`` of ``target`` that keeps its state in ``state_dir``."""
    wanted = resolve_target(target)
    for file in sorted(state_dir.glob(f"*/{STATE_FILE}")):
        state = _read_state(file)
        if state is not None and state.target == wanted and _alive(state.pid):
            return state
    return None


def state_dir_problem(state_dir: Path, target: str) -> str | None:
    """Why ``flowfn run-local`` of ``target`` cannot keep its state in ``state_dir`` (a folder it
    cannot make, or one a live run of the same app uses: a second would mirror the same folders and
    save its queues over the first's), as one line with its Fix; None when it can."""
    try:
        state_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        problem = "is a file, not a folder" if state_dir.is_file() else (exc.strerror or str(exc))
        return (f"--state-dir {state_dir}: {problem}. Fix: give a folder run-local can create and write "
                "to (the default is .flowfn).")
    first = running_under(state_dir, target)
    if first is None:
        return None
    return (f"run-local of {first.app} is already running (pid {first.pid}) with --state-dir {state_dir}: a "
            "second would mirror the same folders and overwrite what the first saves when it stops. Fix: "
            "stop the first (Ctrl-C in its terminal), or give this one another --state-dir.")


def runs_dir() -> Path:
    """Where each running ``flowfn run-local`` leaves a pointer to its state file (one folder per user)."""
    user = os.getuid() if hasattr(os, "getuid") else os.getlogin()
    return Path(tempfile.gettempdir()) / f"flowfn-{user}" / "runs"


def _read_state(file: Path) -> RunState | None:
    try:
        return RunState(**json.loads(file.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _point_to(state_file: Path, remove: bool = False) -> None:
    """Leave (or ``remove``) a pointer to ``state_file`` where :func:`find_running` looks for runs."""
    folder = runs_dir()
    path = state_file.resolve()
    pointer = folder / f"{hashlib.sha256(str(path).encode()).hexdigest()[:16]}.json"
    with contextlib.suppress(OSError):  # only a convenience: invoke --state-dir still finds the run
        if remove:
            pointer.unlink()
        else:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            pointer.write_text(json.dumps({"state_file": str(path)}) + "\n")


def _counted(counts: dict[str, int]) -> str:
    """``5 messages (jobs: 3, jobs-dlq: 2)``."""
    total = sum(counts.values())
    parts = ", ".join(f"{'S3 notifications' if name == NOTIFICATION_QUEUE else name}: {n}"
                      for name, n in counts.items())
    return f"{total} message{'s' if total != 1 else ''} ({parts})"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DevServer:
    """Runs an app for a person: see the module docstring."""

    def __init__(self, target: str, *, state_dir: Path, http_port: int | None = 8000,
                 endpoint_url: str | None = None, region: str = "us-east-1", mirror: bool = True,
                 reload: bool = True, clock_start: datetime | None = None,
                 on_invocation: Callable[[Invocation], None] | None = None,
                 report: Callable[[str], None] | None = None) -> None:
        self.target = target
        self.state_dir = state_dir
        self.report = report or (lambda message: None)
        self.reload_enabled = reload
        self.mirror: Mirror | None = None
        self._mirror_wanted = mirror
        options = Options(endpoint_url=endpoint_url, region=region, http_port=http_port,
                          wall_clock_start=clock_start, listeners=[on_invocation] if on_invocation else [],
                          state_dir=state_dir, keep_records=False, freeze_heap=True)
        self.local = LocalApp(target, options)
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self.state_file: Path | None = None
        self._restored = False

    def start(self) -> None:
        """Start everything; raises (and stops what started) when the app cannot run."""
        if self._mirror_wanted:
            # The folder needs the app's name, known once it is imported: the hook resolves it.
            def seed(local: LocalApp) -> None:
                if self.mirror is None:
                    self.mirror = Mirror(self.app_dir(local.app.name or "app") / "buckets", self.report)
                    local.options.observers.append(self.mirror.on_change)
                self.mirror.seed(local)

            self.local.options.on_provisioned.append(seed)
        self.local.options.on_ready.append(self._restore_queues)
        self.local.options.on_ready.append(self._restore_streams)
        self.local.options.on_stopped.append(self._last_scan)
        self.local.options.on_stopped.append(self._save_queues)
        self.local.options.on_stopped.append(self._save_streams)
        self.local.start()
        try:
            self._write_state()
            if self.mirror is not None:
                self.mirror.start()
            if self.reload_enabled:
                # The first look is taken now: a change saved right after start is a change.
                self._watcher = threading.Thread(target=self._watch, args=(self._sources(),),
                                                 name="flowfn-reload", daemon=True)
                self._watcher.start()
        except BaseException:
            self.stop()
            raise

    def app_dir(self, name: str) -> Path:
        return self.state_dir / name

    def _write_state(self) -> None:
        local = self.local
        state = RunState(
            pid=os.getpid(), target=resolve_target(self.target), app=local.app.name or "app",
            endpoint_url=local.target.endpoint_url, region=local.target.region, http_url=local.http_url,
            buckets=dict(local.bindings.buckets), queues=dict(local.bindings.queue_urls),
        )
        folder = self.app_dir(state.app)
        folder.mkdir(parents=True, exist_ok=True)
        self.state_file = folder / STATE_FILE
        self.state_file.write_text(json.dumps(state.__dict__, indent=2) + "\n")
        _point_to(self.state_file)

    def _queues_file(self, local: LocalApp) -> Path:
        return self.app_dir(local.app.name or "app") / queuestate.FILE

    def _last_scan(self, local: LocalApp) -> None:
        # Files dropped just before the stop are uploaded now: their notifications are kept for
        # the next start (files there at start are uploaded without firing anything).
        if self.mirror is not None:
            try:
                self.mirror.scan(last=True)
            except Exception as exc:
                self.report(f"mirror: {type(exc).__name__}: {exc}")

    def _held_queues(self, local: LocalApp) -> dict[str, str]:
        queues = local.held_queues()
        if self.mirror is None:  # the objects are not kept: notifications about them are not either
            queues.pop(NOTIFICATION_QUEUE, None)
        return queues

    def _restore_queues(self, local: LocalApp) -> None:
        if self._restored or not local.emulator.embedded:
            return
        self._restored = True
        file = self._queues_file(local)
        try:
            done = queuestate.restore(local.target.client("sqs"), self._held_queues(local), file)
        except Exception as exc:
            self.report(f"could not restore the messages saved in {file} ({type(exc).__name__}: {exc}); "
                        "they stay in that file and are restored at the next start")
            return
        if done.total:
            self.report(f"restored {_counted(done.counts)} saved at the last stop")
        if done.short:
            self.report(f"{done.short} restored FIFO messages have fewer receives than they had: "
                        "a message of their group was in hand")
        if done.dropped:
            self.report(f"not restored: {_counted(done.dropped)}, queues the app no longer declares; "
                        f"they are in {done.kept_in}")

    def _save_queues(self, local: LocalApp) -> None:
        if not local.emulator.embedded:
            return
        file = self._queues_file(local)
        try:
            arns = {arn: local.bindings.queue_urls[name] for name, arn in local.bindings.queue_arns.items()}
            held = queuestate.unsettled(local.invoker.unsettled(), arns)
            saved = queuestate.save(local.target.client("sqs"), self._held_queues(local), held, file)
        except Exception as exc:
            self.report(f"could not save the queued messages ({type(exc).__name__}: {exc}): they are lost")
            return
        if saved.total:
            self.report(f"saved {_counted(saved.counts)} to {file}; the next run-local of this app "
                        "restores them")
        if saved.unread:
            self.report(f"not saved: {saved.unread} messages the emulator would not hand out "
                        "(delayed, or held by another client); they are lost")

    def _restore_streams(self, local: LocalApp) -> None:
        if not local.emulator.embedded:
            return
        file = self.app_dir(local.app.name or "app") / streamstate.FILE
        try:
            records, items = streamstate.restore(local, file)
        except Exception as exc:
            self.report(f"could not restore the stream records saved in {file} ({type(exc).__name__}: "
                        f"{exc}); they stay in that file")
            return
        if records or items:
            self.report(f"restored {_records_and_items(records, items)} saved at the last stop")

    def _save_streams(self, local: LocalApp) -> None:
        if not local.emulator.embedded:
            return
        file = self.app_dir(local.app.name or "app") / streamstate.FILE
        try:
            records, items = streamstate.save(local, file)
        except Exception as exc:
            self.report(f"could not save the stream records ({type(exc).__name__}: {exc}): they are lost")
            return
        if records or items:
            from flowfn.triggers.streaming import StreamSettings

            mapped = any(isinstance(h.trigger, StreamSettings) for h in local.app.handlers)
            resumes = " and resumes from each shard's checkpoint" if mapped else ""
            self.report(f"saved {_records_and_items(records, items)} to {file}; the next run-local of "
                        f"this app restores them{resumes}")

    def fire(self, function: str) -> Invocation:
        """Fire a schedule handler now."""
        return self.local.schedules.fire(function)

    def wait(self) -> None:
        """Block until :meth:`request_stop` (Ctrl-C's handler calls it)."""
        while not self._stop.wait(0.5):
            pass

    def request_stop(self) -> None:
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def stop(self) -> None:
        """Stop watching, mirroring and running; in-flight invocations finish first."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join()
            self._watcher = None
        if self.mirror is not None:
            self.mirror.stop()
        self.local.stop()
        if self.state_file is not None:
            with contextlib.suppress(FileNotFoundError):
                self.state_file.unlink()
            _point_to(self.state_file, remove=True)
            self.state_file = None

    # -- reload -----------------------------------------------------------------------------------

    def _sources(self) -> dict[Path, tuple[int, int]]:
        origin = self.local.app.origin
        if origin is None:
            return {}
        found: dict[Path, tuple[int, int]] = {}  # path -> (mtime, size): mtimes are coarse
        for folder, dirs, files in os.walk(origin.root):
            dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.startswith(".")]
            for name in files:
                if name.endswith(".py"):
                    path = Path(folder) / name
                    with contextlib.suppress(OSError):
                        stat = path.stat()
                        found[path] = (stat.st_mtime_ns, stat.st_size)
                    if len(found) >= _MAX_WATCHED:
                        return found
        return found

    def _watch(self, known: dict[Path, tuple[int, int]]) -> None:
        pause = _MIN_PAUSE
        while not self._stop.wait(pause):
            began = time.perf_counter()
            now = self._sources()
            # A look over a few files costs microseconds: look often, so a saved change serves
            # within a tenth of a second. A large tree is looked over less often, so that
            # looking takes no more than a twentieth of one core.
            pause = min(_MAX_PAUSE, max(_MIN_PAUSE, 20 * (time.perf_counter() - began)))
            if now == known:
                continue
            changed = sorted({str(p) for p in set(now) ^ set(known)}
                             | {str(p) for p in now if p in known and now[p] != known[p]})
            known = now
            self.report(f"code changed ({', '.join(Path(c).name for c in changed[:3])}): reloading")
            try:
                app = self.local.reload()
            except Exception as exc:
                self.report(f"reload failed, the previous code keeps running: {exc}")
                continue
            self.report(f"reloaded: {len(app.handlers)} functions")

    def describe(self) -> dict[str, Any]:
        """What runs where, for the banner."""
        local = self.local
        return {
            "endpoint_url": local.target.endpoint_url,
            "region": local.target.region,
            "http_url": local.http_url,
            "buckets": dict(local.bindings.buckets),
            "queues": dict(local.bindings.queue_urls),
            "dead_letter_queues": [q.logical_name for q in local.app.queues() if q.is_dlq],
            "mirror": str(self.mirror.root) if self.mirror else None,
            "schedules": local.schedules.next_fires(),
            "routes": [h.trigger.describe() for h in local.router.routes],
        }


def _records_and_items(records: int, items: int) -> str:
    """``3 stream records and 2 table items``, leaving out a kind there is none of."""
    parts = [f"{records} stream record{'s' * (records != 1)}" if records else "",
             f"{items} table item{'s' * (items != 1)}" if items else ""]
    return " and ".join(part for part in parts if part)
