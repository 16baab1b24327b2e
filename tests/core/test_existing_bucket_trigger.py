"""An S3 trigger on a bucket the app does not create is refused when the module is imported, at the
decorator's line, not first by synth after the app has run locally: CloudFormation can set S3
notifications only on a bucket its own stack creates."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

CLI = [sys.executable, "-c", "from flowfn.cli import main; main()"]


def test_an_s3_trigger_on_an_existing_bucket_is_refused_on_import(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        "from flowfn import Bucket, on_s3\n"
        "logs = Bucket('logs', existing='company-logs')\n"
        "@on_s3(logs, prefix='in/')\n"
        "def watch(record, context): ...\n"
    )
    for command in (["list", "app.py"], ["run-local", "app.py", "--port", "0", "--state-dir", "state"]):
        result = subprocess.run([*CLI, *command], capture_output=True, text=True, cwd=tmp_path, timeout=120,
                                env={**os.environ, "COLUMNS": "300"})
        assert result.returncode == 1, result.stdout
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"error: {tmp_path / 'app.py'}:3: handler 'watch', argument 'bucket': ")
        assert "CloudFormation can set notifications only on a bucket its own stack creates" in line
        assert "Fix: trigger on a bucket flowfn creates (Bucket('logs') without existing=)" in line
