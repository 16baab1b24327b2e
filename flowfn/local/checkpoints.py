"""Where a stream mapping has got to in each shard: the last record done, kept in the state folder
so that a restarted run resumes there."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from flowfn.errors import FlowfnError

__all__ = ["CheckpointError", "Checkpoints", "checkpoint_file"]

log = logging.getLogger("flowfn.local")


class CheckpointError(FlowfnError, ValueError):
    """A mapping's checkpoint file that cannot be read: starting without it could hand the handler
    records again, or pass over records it never handled."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        super().__init__(
            f"handler {path.stem!r}: the stream checkpoints in {path} cannot be read ({problem}), and "
            "starting without them could hand the handler records it has handled, or pass over records "
            "it has not. Fix: put back the file a clean stop wrote, or delete it to have the mapping "
            "start again at its starting_position")


def checkpoint_file(state_dir: Path, handler: str) -> Path:
    """The file keeping the checkpoints of ``handler``'s mapping, in the app's state folder."""
    return state_dir / "checkpoints" / f"{handler}.json"


class Checkpoints:
    """Each shard's checkpoint (the last record done), kept in a JSON file when given one."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.values: dict[str, str] = {}
        #: Why the file could not be written last time (None: it was, or nothing was written yet).
        self.error: OSError | None = None
        if path is not None and path.parent.exists() and not path.parent.is_dir():
            raise CheckpointError(path, f"{path.parent} is not a folder")
        if path is not None and (path.exists() or path.is_symlink()):
            self.values = _read(path)

    def get(self, shard: str) -> str | None:
        return self.values.get(shard)

    def set(self, shard: str, raw_seq: str) -> None:
        """Move the shard's checkpoint on. A file that cannot be written (its folder gone, the disk
        full) leaves the run going on the checkpoints held here; the failure is logged when it
        starts and kept in :attr:`error`, and the next checkpoint tries the file again."""
        with self._lock:
            self.values[shard] = raw_seq
            if self.path is None:
                return
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self.values, sort_keys=True))
                tmp.replace(self.path)
            except OSError as exc:
                if self.error is None:  # said when it starts failing, not at every record
                    log.warning("handler %r: its stream checkpoints cannot be written to %s (%s); the run "
                                "goes on with them held in memory, and a restart would resume from the "
                                "last one written", self.path.stem, self.path,
                                exc.strerror or type(exc).__name__)
                self.error = exc
            else:
                self.error = None


def _read(path: Path) -> dict[str, str]:
    """The checkpoints ``path`` holds: an object of shard ids to sequence numbers (digits)."""
    try:
        loaded: Any = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise CheckpointError(path, exc.strerror or type(exc).__name__) from None
    except UnicodeDecodeError:
        raise CheckpointError(path, "it is not UTF-8 text") from None
    except ValueError as exc:
        raise CheckpointError(path, f"it is not JSON: {exc}") from None
    if not isinstance(loaded, dict):
        raise CheckpointError(path, f"it holds a JSON {type(loaded).__name__}, not an object of shard "
                              "ids to sequence numbers")
    for shard, number in loaded.items():
        if not isinstance(number, str | int) or isinstance(number, bool) or not str(number).isdigit():
            raise CheckpointError(path, f"shard {shard!r} has {number!r}, not a sequence number")
    return {str(k): str(v) for k, v in loaded.items()}
