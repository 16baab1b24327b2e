"""An app whose handlers fail in every way a trigger kind can: how failures are counted and shown."""

import time

from flowfn import App, Bucket, HTTPError, Queue, Response

app = App("failing")
drops = Bucket("drops")
work = Queue("work", visibility_timeout_s=1, max_receive_count=2)


@app.on_s3(drops)
def on_drop(record):
    raise ValueError(f"cannot read {record.object_key}")


@app.on_schedule("cron(0 3 * * ? *)")
def nightly(event):
    raise RuntimeError("the nightly job broke")


@app.on_s3(Bucket("paused"), reserved_concurrency=0)
def paused(record):
    return "never runs"


@app.on_schedule("cron(0 3 * * ? *)", reserved_concurrency=0)
def switched_off(event):
    return "never runs"


@app.on_sqs(work, timeout_s=1)
def take(record):
    if record.body == "poison":
        raise ValueError("poison message")


@app.on_http("GET", "/fail")
def fail(request):
    raise RuntimeError("secret detail")


@app.on_http("GET", "/unavailable")
def unavailable(request):
    return Response({"retry": "later"}, status=503)


@app.on_http("GET", "/missing")
def missing(request):
    raise HTTPError(404, "no such thing")


@app.on_schedule("rate(1 day)", enabled=False, timeout_s=1)
def hang(event):
    while True:
        time.sleep(0.01)
