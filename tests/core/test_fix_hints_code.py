"""A Fix that shows a grant writes it as code that runs: a resource whose logical name is not a
Python name (`photo-in`) is written as a declaration equal to it, `Bucket('photo-in')`, never as
`photo-in.read()`."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "from flowfn.cli import main; main()"]


@pytest.mark.parametrize(("decorator", "fix"), [
    ("@on_s3(photos, uses=photos.read())", "Fix: wrap it in a list: uses=[Bucket('photo-in').read()]."),
    ("@on_s3(photos, prefix='in/', uses=[photos.write()])",
     "for example Bucket('photo-in').write(prefix='processed/') with prefix='incoming/' on the trigger"),
])
def test_a_fix_writes_the_grant_as_code(tmp_path: Path, decorator: str, fix: str) -> None:
    (tmp_path / "app.py").write_text(
        f"from flowfn import Bucket, on_s3\nphotos = Bucket('photo-in')\n{decorator}\ndef h(record, context): ...\n")
    result = subprocess.run([*CLI, "list", "app.py"], capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert result.returncode == 1, result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert fix in line and "photo-in." not in line
