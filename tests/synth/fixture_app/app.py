"""A fixture app that uses every trigger kind and option synth knows; its template is a golden."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from flowfn import App, Bucket, Queue

app = App("fixture")

uploads = Bucket("uploads")
reports = Bucket("reports")
archive = Bucket("archive", existing="arn:aws:s3:::company-archive")
jobs = Queue("jobs")
orders = Queue("orders.fifo", content_based_deduplication=True, max_receive_count=5)
audit = Queue("audit", max_receive_count=None, visibility_timeout_s=600, delay_s=10, retention_s=86_400)
partner = Queue("partner-events", existing="arn:aws:sqs:eu-west-1:123456789012:partner-events")
legacy = Queue("legacy", existing="https://sqs.us-west-2.amazonaws.com/210987654321/legacy-jobs")


class Order(BaseModel):
    id: str
    total: float


@app.on_s3(uploads, events=["created"], prefix="incoming/", suffix=".jpg", memory_mb=1024,
           timeout_s=60, architecture="x86_64", uses=[uploads.write("processed/"), jobs.send()])
def resize(record: Any, context: Any) -> None:
    """Resize one uploaded image."""


@app.on_s3(uploads, events=["removed", "s3:ObjectTagging:Put"], batch=True,
           uses=[uploads.delete("processed/"), uploads.list("processed/")])
def cleanup(event: Any, context: Any) -> None:
    """Drop derived files of removed uploads."""


@app.on_sqs(jobs, batch_size=50, batching_window_s=5, max_concurrency=5, timeout_s=120,
            reserved_concurrency=20, uses=[reports.write(), archive.read("2024/")])
def work(record: Any, context: Any) -> None:
    """Do one job."""


@app.on_sqs(orders, batch_size=10, model=Order, uses=[audit.send()])
def take_order(order: Order, context: Any) -> None:
    """Record one order."""


@app.on_sqs(partner, batch=True, log_level="DEBUG", environment={"PARTNER": "acme"})
def partner_batch(batch: Any, context: Any) -> None:
    """Handle partner events in batches."""


@app.on_schedule("cron(0 3 * * ? *)", uses=[reports.list(), reports.read(), legacy.consume()])
def nightly(event: Any, context: Any) -> None:
    """Summarize the day."""


@app.on_schedule("rate(5 minutes)", enabled=False, ephemeral_storage_mb=2048)
def heartbeat() -> None:
    """Check in."""


@app.on_schedule("cron(30 8 ? * MON-FRI *)", timezone="Europe/Paris", uses=[jobs.send()])
def morning(event: Any) -> None:
    """Queue the morning jobs, Paris time."""


@app.on_http("GET", "/reports/{name}", uses=[reports.read()])
def get_report(request: Any) -> dict[str, str]:
    return {}


@app.on_http("ANY", "/files/{key+}", uses=[archive.read(), archive.list()])
def files(request: Any, context: Any) -> dict[str, str]:
    return {}


@app.on_http("POST", "/", name="submit-order", uses=[orders.send()])
def submit(request: Any) -> None:
    return None
