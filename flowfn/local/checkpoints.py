"""Where a stream mapping has got to in each shard: the last record done, kept in the state folder
so that a restarted run resumes there."""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path

__all__ = ["Checkpoints", "checkpoint_file"]


def checkpoint_file(state_dir: Path, handler: str) -> Path:
    """The file keeping the checkpoints of ``handler``'s mapping, in the app's state folder."""
    return state_dir / "checkpoints" / f"{handler}.json"


class Checkpoints:
    """Each shard's checkpoint (the last record done), kept in a JSON file when given one."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self._lock = threading.Lock()
        self.values: dict[str, str] = {}
        if path is not None and path.is_file():
            with contextlib.suppress(OSError, ValueError):
                loaded = json.loads(path.read_text())
                self.values = {str(k): str(v) for k, v in loaded.items()}

    def get(self, shard: str) -> str | None:
        return self.values.get(shard)

    def set(self, shard: str, raw_seq: str) -> None:
        with self._lock:
            self.values[shard] = raw_seq
            if self.path is not None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_suffix(".tmp")
                tmp.write_text(json.dumps(self.values, sort_keys=True))
                tmp.replace(self.path)
