"""A standard and a FIFO queue whose handlers fail on purpose, for test_faults.py.

Each handler call rolls a die seeded by ``plan["seed"]``, the body and the attempt number, so a
run injects the same faults every time: it raises (``plan["raise"]``), overruns the function's
timeout (``plan["timeout"]``), or succeeds. A body ending in ``:poison`` always raises. Every
call and every success is recorded with a tick of one shared counter, to check order afterwards.
"""

import itertools
import random
import threading
import time

from flowfn import App, Queue

app = App("faults")
jobs = Queue("jobs", visibility_timeout_s=2, max_receive_count=3)
orders = Queue("orders.fifo", visibility_timeout_s=2, max_receive_count=3)

plan = {"seed": 0, "raise": 0.0, "timeout": 0.0}
lock = threading.Lock()
ticks = itertools.count()
attempts: dict[str, int] = {}
calls: list[tuple[int, str, str]] = []  # (tick, body, what the call was told to do)
successes: list[tuple[int, str]] = []  # (tick, body)


def handle(body: str) -> None:
    with lock:
        attempt = attempts[body] = attempts.get(body, 0) + 1
    roll = random.Random(f"{plan['seed']}:{body}:{attempt}").random()
    if body.endswith(":poison"):
        action = "poison"
    elif roll < plan["timeout"]:
        action = "timeout"
    elif roll < plan["timeout"] + plan["raise"]:
        action = "raise"
    else:
        action = "ok"
    with lock:
        calls.append((next(ticks), body, action))
    if action == "timeout":
        while True:  # stopped by the function's timeout
            time.sleep(0.01)
    if action != "ok":
        raise ValueError(f"injected failure ({action}) for {body}")
    with lock:
        successes.append((next(ticks), body))


@app.on_sqs(jobs, batch_size=10, timeout_s=1)
def work(record):
    handle(record.body)


@app.on_sqs(orders, batch_size=10, timeout_s=1)
def take(record):
    handle(record.body)
