"""Schedules, HTTP routes, timeouts and reserved concurrency."""

import os
import threading
import time

from flowfn import App, Bucket, HTTPError, Queue, Response

app = App("services")
slow_jobs = Queue("slow-jobs", max_receive_count=2)
limited = Queue("limited")

fired: list[str] = []
gate = threading.Barrier(4, timeout=10)
state = {"running": 0, "peak": 0}
lock = threading.Lock()
entered = threading.Event()
release = threading.Event()


@app.on_schedule("cron(0 3 * * ? *)")
def nightly(event, context):
    fired.append(event.time.isoformat())
    return {"remaining_ms": context.get_remaining_time_in_millis(), "function": context.function_name}


@app.on_schedule("rate(15 minutes)")
def every_quarter(event):
    return event.time.isoformat()


@app.on_schedule("rate(1 day)", enabled=False)
def manual():
    return "ran"


@app.on_sqs(slow_jobs, timeout_s=1)
def slow(record):
    while True:  # stopped by the timeout
        time.sleep(0.01)


@app.on_sqs(limited, batch_size=1, reserved_concurrency=1)
def one_at_a_time(record):
    with lock:
        state["running"] += 1
        state["peak"] = max(state["peak"], state["running"])
    time.sleep(0.02)
    with lock:
        state["running"] -= 1


@app.on_http("GET", "/items/{item_id}")
def get_item(request):
    if request.path_params["item_id"] == "missing":
        raise HTTPError(404, "no such item", {"item_id": "missing"})
    return {"id": request.path_params["item_id"], "q": request.query.get("q")}


@app.on_http("POST", "/items")
def create_item(request, context):
    return Response(body={"created": request.json()}, status=201, headers={"x-request": context.aws_request_id})


@app.on_http("GET", "/files/{path+}")
def get_file(request):
    return request.path_params["path"]


@app.on_http("GET", "/boom")
def boom(request):
    raise RuntimeError("secret detail")


@app.on_http("GET", "/together")
def together(request):
    gate.wait()  # four requests must be in here at once
    return {"ok": True}


@app.on_http("GET", "/env")
def env(request):
    return {k: v for k, v in os.environ.items() if k.startswith(("FLOWFN_", "AWS_ENDPOINT"))}


@app.on_http("GET", "/single", reserved_concurrency=1)
def single(request):
    entered.set()
    release.wait(10)
    return "done"


isolation = threading.Barrier(3, timeout=10)


def _report_env() -> dict[str, str]:
    isolation.wait()  # all three run at once, each with its own environment
    return {"function": os.environ["FLOWFN_FUNCTION"], "memory": os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"],
            "extra": os.environ.get("EXTRA", "")}


@app.on_http("GET", "/isolated/a", memory_mb=512, environment={"EXTRA": "a"})
def isolated_a(request):
    return _report_env()


@app.on_http("GET", "/isolated/b", memory_mb=1024)
def isolated_b(request):
    return _report_env()


@app.on_http("GET", "/isolated/c", environment={"EXTRA": "c"})
def isolated_c(request):
    return _report_env()


flaky_in = Bucket("flaky-in")
orders = Queue("orders.fifo")
attempts: list[str] = []
order_log: list[str] = []


@app.on_s3(flaky_in)
def flaky(record):
    attempts.append(record.object_key)
    if len(attempts) < 3:
        raise ConnectionError("not yet")
    return "third time lucky"


@app.on_sqs(orders, batch_size=2)
def take_order(record):
    order_log.append(f"{record.message_group_id}:{record.body}")


bulk = Queue("bulk")
bulk_seen: list[str] = []


@app.on_sqs(bulk, batch_size=3)
def take_bulk(record):
    with lock:
        bulk_seen.append(record.body)


batched = Queue("batched")


@app.on_sqs(batched, batch_size=10, batching_window_s=1, reserved_concurrency=1)
def take_batched(record):
    return None
