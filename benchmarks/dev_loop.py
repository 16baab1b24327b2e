"""The developer's loop: starting ``flowfn run-local`` until it is ready, and a saved code change
until the new code serves.

Ready means the banner is printed (every source polling) and the HTTP API answers, timed from
the moment the process is spawned. A code change rewrites the app file with a new version string;
it counts as served when a request returns it. The app has one handler of each kind.

flowfn's modules are compiled to bytecode before the first start, as an installed flowfn has
them (pip compiles a wheel's modules when it installs them; a checkout's are written by its first
run): with ``PYTHONDONTWRITEBYTECODE`` set, every start would otherwise compile some 70 modules
from source, about 0.1 s that no developer's start pays.
"""

from __future__ import annotations

import compileall
import importlib.util
import tempfile
import time
from pathlib import Path

from _common import HERE, Row, RunLocal, free_port, http_get, median, ms, spread_ms

SOURCE = (HERE / "apps" / "devloop_app.py").read_text()


def _wait_body(url: str, expected: bytes, timeout: float = 20.0) -> float:
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        try:
            status, body = http_get(url, timeout=1.0)
        except OSError:
            status, body = 0, b""
        if status == 200 and body == expected:
            return time.perf_counter()
        time.sleep(0.005)
    raise RuntimeError(f"{url} never answered {expected!r}")


def _compile_flowfn() -> None:
    """Write the bytecode of the flowfn that ``flowfn run-local`` will import (the same path
    lookup: this process's environment is the child's)."""
    spec = importlib.util.find_spec("flowfn")
    if spec is not None and spec.origin is not None:
        compileall.compile_dir(str(Path(spec.origin).parent), quiet=1)


def run(starts: int = 5, edits: int = 4) -> list[Row]:
    _compile_flowfn()
    ready: list[float] = []
    reloads: list[float] = []
    for start in range(starts):
        with tempfile.TemporaryDirectory(prefix="flowfn-devloop-") as tmp:
            folder = Path(tmp) / "svc"
            folder.mkdir()
            app_file = folder / "app.py"
            app_file.write_text(SOURCE)
            port = free_port()
            proc = RunLocal(app_file, Path(tmp) / ".flowfn", port)
            try:
                url = f"http://127.0.0.1:{port}/version"
                answered = _wait_body(url, b"v0") - proc.started
                banner = proc.wait_for(RunLocal.READY)
                ready.append(max(answered, banner))
                for edit in range(1, edits + 1):
                    version = f"v{start}.{edit}"
                    time.sleep(0.6)  # a developer's pause; also lets file times differ
                    saved = time.perf_counter()
                    app_file.write_text(SOURCE.replace('VERSION = "v0"', f'VERSION = "{version}"'))
                    reloads.append(_wait_body(url, version.encode()) - saved)
            finally:
                proc.stop()
    return [
        Row("developer loop", "run-local start to ready", ms(median(ready)), spread_ms(ready),
            target="< 1 s", met=median(ready) < 1.0),
        Row("developer loop", "code saved to new code serving", ms(median(reloads)), spread_ms(reloads),
            target="< 0.5 s", met=median(reloads) < 0.5),
    ]


if __name__ == "__main__":
    for row in run():
        print(" | ".join(row.cells()))
