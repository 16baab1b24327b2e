"""The app the mirror and stop tests run with `flowfn run-local` in a subprocess."""

import time

import boto3

from flowfn import App, Bucket, Queue

app = App("stopapp")
files = Bucket("files")
out = Bucket("out")
kick = Queue("kick")
flaky = Queue("flaky", visibility_timeout_s=1, max_receive_count=3)
parked = Queue("parked")
ordered = Queue("ordered.fifo")
sticky = Queue("sticky", visibility_timeout_s=60, max_receive_count=5)


@app.on_s3(files, uses=[files.read()])
def seen(record):
    """Every object written to `files` runs this; its invocation line names the key."""
    boto3.client("s3").head_object(Bucket=files.name, Key=record.object_key)


@app.on_sqs(kick, timeout_s=20, uses=[out.write(), parked.send(), ordered.send()])
def burst(record):
    """Marks that it started, naps (the test stops run-local meanwhile), then writes 75 objects."""
    s3 = boto3.client("s3")
    s3.put_object(Bucket=out.name, Key="started.txt", Body=b"")
    time.sleep(1.5)
    for n in range(int(record.body)):
        s3.put_object(Bucket=out.name, Key=f"burst/{n:02d}.txt", Body=str(n).encode())


@app.on_s3(out, prefix="burst/")
def counted(record):
    """Runs for each object `burst` writes (on the next start when it wrote them while stopping)."""


def _mark_and_fail(record):
    """Leave a mark per receive, out/flaky/<body>-<receive count>, and fail."""
    key = f"flaky/{record.body}-{record.receive_count}"
    boto3.client("s3").put_object(Bucket=out.name, Key=key, Body=b"")
    raise ValueError(key)


@app.on_sqs(flaky, timeout_s=1, uses=[out.write()])
def flake(record):
    """Fails every time; its message comes back a second later."""
    _mark_and_fail(record)


@app.on_sqs(sticky, timeout_s=1, uses=[out.write()])
def stick(record):
    """Fails every time; its message comes back a minute later."""
    _mark_and_fail(record)
