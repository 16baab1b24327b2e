"""A small app for deploy tests: one bucket, one queue, two handlers."""

from __future__ import annotations

from typing import Any

from flowfn import Bucket, Queue, on_s3, on_sqs

uploads = Bucket("uploads")
jobs = Queue("jobs")


@on_s3(uploads, uses=[jobs.send()])
def resize(record: Any, context: Any) -> None:
    """Queue a job for each upload."""


@on_sqs(jobs)
def work(record: Any, context: Any) -> None:
    """Do the job."""
