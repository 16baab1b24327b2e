"""A denied call's Fix names the resource as the handler's code does: the variable its module holds
it in (`out.write()` for `out = Bucket("mc-out")`), else a declaration equal to it, never a logical
name that is not Python (`mc-out.write()`)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from flowfn.testing import run_app

pytestmark = pytest.mark.slow

APP = """\
import boto3
from flowfn import Bucket, Queue, on_schedule
import hint_resources

out = Bucket("mc-out")
jobs = Queue("job-queue")


@on_schedule("rate(1 day)", enabled=False, uses=[out.read()])
def put():
    boto3.client("s3").put_object(Bucket=out.name, Key="reports/x", Body=b"1")


@on_schedule("rate(1 day)", enabled=False, uses=[jobs.consume()])
def send():
    boto3.client("sqs").send_message(QueueUrl=jobs.url, MessageBody="x")


@on_schedule("rate(1 day)", enabled=False, uses=[hint_resources.receipts.read()])
def elsewhere():
    boto3.client("s3").delete_object(Bucket=hint_resources.receipts.name, Key="old")
"""


def test_fixes_name_resources_as_the_code_does(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP)
    (tmp_path / "hint_resources.py").write_text(textwrap.dedent("""\
        from flowfn import Bucket
        receipts = Bucket("shop-receipts")
    """))
    with run_app(str(tmp_path / "app.py")) as app:
        errors = {name: str(app.fire(name).error) for name in ("put", "send", "elsewhere")}
    assert errors["put"].endswith("""Fix: add uses=[out.write(prefix="reports/")] to handler 'put'.""")
    assert errors["send"].endswith("Fix: add uses=[jobs.send()] to handler 'send'.")
    assert errors["elsewhere"].endswith("Fix: add uses=[Bucket('shop-receipts').delete()] to handler 'elsewhere'.")
