"""The app the local end-to-end benchmark runs: an S3 handler that notes when it starts, and an
SQS consumer that does nothing but succeed."""

import time

from flowfn import Bucket, Queue, on_s3, on_sqs

drops = Bucket("drops")
work = Queue("work")

started: dict[str, float] = {}


@on_s3(drops)
def note(record, context):
    started[record.object_key] = time.perf_counter()


@on_sqs(work, batch_size=10)
def consume(record, context):
    return None
