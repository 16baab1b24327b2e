"""The mistakes a new app makes on import get one line that says how to fix them: a misspelt grant,
a grant another kind has, a misspelt argument or name, a flowfn name not imported, a dependency not
installed, a sibling module imported as if it were top-level, a resource's name read at import;
each at the app's line, never flowfn's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

CLI = [sys.executable, "-c", "from flowfn.cli import main; main()"]

BUCKET_TYPO = """\
from flowfn import Bucket, on_s3
uploads = Bucket("uploads")
@on_s3(uploads, uses=[uploads.wirte()])
def shrink(record, context): ...
"""
QUEUE_WRITE = """\
from flowfn import Queue, on_sqs
jobs = Queue("jobs")
@on_sqs(jobs, uses=[jobs.write()])
def work(record, context): ...
"""
USE = """\
from flowfn import Bucket, on_s3
uploads = Bucket("uploads")
@on_s3(uploads, use=[uploads.read()])
def shrink(record, context): ...
"""
TIMEOUT = """\
from flowfn import App, Queue
app = App("shop")
jobs = Queue("jobs")
@app.on_sqs(jobs, timeout=60)
def work(record, context): ...
"""
BUCKET_KEYWORD = """\
from flowfn import Bucket
uploads = Bucket("uploads", prefix="in/")
"""
QUEUE_PREFIX = """\
from flowfn import Queue, on_schedule
jobs = Queue("jobs")
@on_schedule("rate(1 hour)", uses=[jobs.send(prefix="in/")])
def tick(): ...
"""
NAME_TYPO = """\
from flowfn import Bucket, on_s3
thumbnails = Bucket("thumbnails")
@on_s3(thumbnails, uses=[thumbnail.write(prefix="out/")])
def shrink(record, context): ...
"""
NOT_IMPORTED = """\
from flowfn import on_sqs
@on_sqs(Queue("jobs"))
def work(record, context): ...
"""
NAME_AT_IMPORT = """\
from flowfn import Bucket, on_s3
uploads = Bucket("uploads")
BUCKET = uploads.name
@on_s3(uploads)
def shrink(record, context): ...
"""
MISSING = """\
import flowfn_no_such_dependency
from flowfn import on_schedule
@on_schedule("rate(1 hour)")
def tick(): ...
"""


def one_line(tmp_path: Path, target: str) -> str:
    env = {**os.environ, "COLUMNS": "400"}
    result = subprocess.run([*CLI, "list", target], capture_output=True, text=True, cwd=tmp_path, env=env,
                            timeout=120)
    assert result.returncode == 1, result.stdout
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: ") and "Traceback" not in line
    return line


@pytest.mark.parametrize(("source", "line_no", "fix"), [
    (BUCKET_TYPO, 3, "Fix: a Bucket's grants are .read(), .write(), .delete() and .list(); did you mean .write()?"),
    (QUEUE_WRITE, 3, "Fix: a Queue's grants are .send() and .consume()."),
    (USE, 3, "Fix: on_s3 has no argument 'use'; did you mean uses=?"),
    (TIMEOUT, 4, "Fix: on_sqs has no argument 'timeout'; did you mean timeout_s=?"),
    (BUCKET_KEYWORD, 2, "Fix: Bucket() has no argument 'prefix'; it takes name, existing."),
    (QUEUE_PREFIX, 3, "Fix: Queue.send() has no argument 'prefix'; it takes no arguments."),
    (NAME_TYPO, 3, "NameError: name 'thumbnail' is not defined"),
    (NAME_TYPO, 3, "Fix: did you mean 'thumbnails'?"),
    (NOT_IMPORTED, 2, "Fix: import it: from flowfn import Queue."),
    (NAME_AT_IMPORT, 3, "Fix: read it inside the handler, not when the module is imported"),
    (MISSING, 1, "Fix: install the package that provides 'flowfn_no_such_dependency' into the Python "
                 f"running flowfn ({sys.executable}), and list it in requirements.txt beside the app"),
], ids=["grant-typo", "grant-of-another-kind", "use", "timeout", "bucket-keyword", "grant-keyword", "name-error",
       "name-typo", "not-imported", "name-at-import", "missing-dependency"])
def test_an_import_mistake_says_how_to_fix_it(tmp_path: Path, source: str, line_no: int, fix: str) -> None:
    (tmp_path / "app.py").write_text(source)
    line = one_line(tmp_path, "app.py")
    assert f"{tmp_path / 'app.py'}, line {line_no})" in line
    assert fix in line


def test_a_sibling_imported_as_top_level_is_named_as_the_package_s(tmp_path: Path) -> None:
    pkg = tmp_path / "shop"
    (pkg / "handlers").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "handlers" / "__init__.py").write_text("")
    (pkg / "handlers" / "queues.py").write_text("from flowfn import Queue\njobs = Queue('jobs')\n")
    (pkg / "handlers" / "work.py").write_text(
        "import queues\nfrom flowfn import on_sqs\n@on_sqs(queues.jobs)\ndef work(record, context): ...\n")
    line = one_line(tmp_path, "shop")
    assert "ModuleNotFoundError: No module named 'queues'" in line and "work.py, line 1)" in line
    assert line.endswith("Fix: 'queues' is a module of the same package; import it through the package, "
                         "as `from . import queues` or by its full name.")
